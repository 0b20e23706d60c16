"""tools/dark_pixels.py counts dark edge and inner pixels of sprites on white."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import dark_pixels


def test_a_ring_and_its_middle_are_counted_as_edge_and_inner():
    image = np.full((1, 5, 6, 3), 255, np.uint8)
    image[0, 1:4, 1:4] = 30  # a 3x3 body: its ring is the edge, its middle the inside
    image[0, 1, 1] = (100, 20, 20)  # one edge pixel not dark (its largest channel counts)
    image[0, 2, 2] = 80  # the middle: below 96, not below 64
    image[0, 1, 2] = (50, 30, 30)  # a dark edge pixel that is not a neutral grey
    image[0, 4, 5] = (250, 240, 250)  # a lone body pixel on the border: an edge, not dark
    s = dark_pixels.dark_pixels(image)
    assert s["body"] == pytest.approx(10 / 30)
    assert s["edge_share"] == pytest.approx(9 / 10)
    assert s["edge_below_64"] == pytest.approx(7 / 9)
    assert (s["inner_below_64"], s["inner_below_96"]) == (0.0, 1.0)
    assert (s["edge_dark_grey"], s["inner_dark_grey"]) == (pytest.approx(6 / 7), 1.0)


def test_bad_input_and_a_missing_run_are_reported(tmp_path, capsys, pokemon_dir):
    with pytest.raises(ValueError, match=r"uint8 RGB \[N, H, W, 3\], got shape \(5, 6, 3\)"):
        dark_pixels.dark_pixels(np.zeros((5, 6, 3), np.uint8))
    assert dark_pixels.main([str(tmp_path / "no_run"), f"--data_dir={pokemon_dir}"]) == 1
    out, err = capsys.readouterr()
    assert "pokemon40 train sprites: body 0.17" in out  # the sprites first, as the docs quote them
    assert err.startswith("error: ") and "no_run" in err and err.count("\n") == 1
