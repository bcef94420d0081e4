"""Metrics as pure functions over arrays, one module per family."""
