"""The package's import graph: no cycles between modules, and none broken by a deferred import in `infogan.data`."""

import ast
from pathlib import Path

import pytest

import infogan

PACKAGE = Path(infogan.__file__).parent
MODULES = {
    ".".join(("infogan", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): path
    for path in sorted(PACKAGE.rglob("*.py"))
}


def _targets(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The infogan modules an import statement loads (a name imported from a package may be a submodule)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    base = node.module or ""
    found = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
    if base in MODULES and len(found) < len(node.names):
        found.add(base)
    return found


def _imports(module: str, *, deferred: bool) -> set[str]:
    """Modules imported at module level, or (``deferred``) inside functions."""
    tree = ast.parse(MODULES[module].read_text())
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inner = {id(n) for f in functions for n in ast.walk(f) if isinstance(n, ast.Import | ast.ImportFrom)}
    typing_only = [n for n in ast.walk(tree) if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    hints = {id(n) for block in typing_only for n in ast.walk(block)}  # annotations only, never run
    statements = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in hints]
    return set().union(*(_targets(n) for n in statements if (id(n) in inner) == deferred)) - {module}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path of modules, or None (depth-first search)."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt] if nxt in path else [*path, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return None

    return next((found for node in sorted(graph) if node not in state and (found := visit(node, [node]))), None)


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_modules_import_each_other_without_cycles():
    # The top-level package is the public facade: it defines __version__ before importing the
    # modules that read it, so edges into it are not part of the layering.
    graph = {m: _imports(m, deferred=False) - {"infogan"} for m in MODULES if m != "infogan"}
    assert _cycle(graph) is None


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("infogan.data.")])
def test_data_modules_import_siblings_directly_and_at_module_level(module):
    assert "infogan.data" not in _imports(module, deferred=False)  # the package re-exports them: a cycle
    assert not {m for m in _imports(module, deferred=True) if m.startswith("infogan.data")}
