"""Grids and traversal figures, with their row labels."""

import torch
from torch.testing import assert_close

from infogan import viz


def test_traversal_rows_get_labels_in_a_left_margin():
    images = torch.zeros(3, 4, 1, 28, 28)  # black images: any dark pixel in the margin is text
    plain = viz.traversal_image(images)
    labelled = viz.traversal_image(images, ["c1=zero", "c1=one", "c1=a-longer-name"])
    assert plain.shape == (3, 3 * 30 + 2, 4 * 30 + 2)
    margin = labelled.shape[2] - plain.shape[2]
    assert labelled.shape[:2] == plain.shape[:2] and margin > 0
    assert_close(labelled[:, :, margin:], plain, atol=1 / 255, rtol=0)  # the grid itself is unchanged
    ink = labelled[:, :, :margin].mean(0) < 0.5  # (H, margin)
    rows_with_text = [bool(ink[2 + 30 * r : 30 * (r + 1)].any()) for r in range(3)]
    assert rows_with_text == [True, True, True]
    assert not ink[:2].any() and not ink[-2:].any()  # text stays within its rows
    wider = viz.traversal_image(images, ["c1=a-much-much-longer-name", "x", "y"])
    assert wider.shape[2] > labelled.shape[2]
