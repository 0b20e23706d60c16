"""tools/body_colours.py measures the hues a body is painted in, greys and outlines left out."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import body_colours


def test_hue_saturation_match_the_hsv_definition():
    rgb = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [200, 100, 100], [80, 80, 80], [0, 0, 0]],
                   np.uint8)
    hue, saturation, value = body_colours.hue_saturation(rgb)
    np.testing.assert_allclose(np.degrees(hue[:5]), [0, 120, 240, 60, 0], atol=1e-9)
    np.testing.assert_allclose(saturation, [1, 1, 1, 1, 0.5, 0, 0])
    np.testing.assert_array_equal(value, [255, 255, 255, 255, 200, 80, 0])


def test_one_hue_two_opposite_hues_and_greys():
    images = np.full((3, 8, 8, 3), 255, np.uint8)
    images[0, 1:7, 1:7] = (200, 40, 40)  # one red body (36 pixels) ...
    images[0, 0, :] = (60, 60, 60)  # ... with a grey outline row, not counted
    images[1, 1:7, 1:4] = (200, 40, 40)  # red and ...
    images[1, 1:7, 4:7] = (40, 200, 200)  # ... cyan, 18 pixels each, opposite hues
    images[2, 1:3, 1:3] = (200, 40, 40)  # 4 colourful pixels: too few, left out
    s = body_colours.body_colours(images)
    assert s["images"] == 2
    assert s["colourful"] == pytest.approx((36 / 44 + 1) / 2)
    assert s["spread"] == pytest.approx(0.5)  # 0 for the red body, 1 for red against cyan
    assert s["hues"] == pytest.approx(1.5)
    # The red body: all of it near its mean hue; red against cyan: the mean is a zero vector whose angle is
    # rounding noise, so half of the pixels lie near it, or none.
    assert 0.5 - 1e-9 <= s["main"] <= 0.75 + 1e-9


def test_patches_are_4_connected_runs_of_one_hue_sector():
    images = np.full((2, 10, 10, 3), 255, np.uint8)
    images[0, 1:9, 1:9] = (200, 40, 40)  # one red body in two tones (one sector) ...
    images[0, 5:9, 1:9] = (120, 20, 20)
    images[0, 2:4, 2:4] = (40, 40, 200)  # ... with a blue 2 x 2 accent (4 pixels: a patch)
    images[0, 7, 7] = (40, 200, 40)  # ... and a lone green pixel (not a patch)
    images[1, 1:9, 1:9] = (200, 40, 40)  # a red and cyan checkerboard of 2 x 2 tiles: 16 patches
    for ty in range(4):
        for tx in range(4):
            if (ty + tx) % 2:
                images[1, 1 + 2 * ty:3 + 2 * ty, 1 + 2 * tx:3 + 2 * tx] = (40, 200, 200)
    labels = body_colours.patches(np.array([[[0, 0, 1], [1, 0, -1], [1, -1, 0]]]))
    assert len(np.unique(labels[labels > 0])) == 4  # {0, 0, 0 above}, {1 right}, {1, 1 left}, {0 corner}
    one, checker = (body_colours.body_colours(images[i:i + 1]) for i in range(2))
    assert one["patches"] == 2 and one["small"] == 1 and one["largest"] == pytest.approx(59 / 64)
    assert checker["patches"] == checker["small"] == 16 and checker["largest"] == pytest.approx(4 / 64)


def test_bad_input_and_a_missing_run_are_reported(tmp_path, capsys, pokemon_dir):
    with pytest.raises(ValueError, match=r"uint8 RGB \[N, H, W, 3\], got shape \(5, 6, 3\)"):
        body_colours.body_colours(np.zeros((5, 6, 3), np.uint8))
    assert body_colours.body_colours(np.full((2, 4, 4, 3), 255, np.uint8))["images"] == 0
    assert body_colours.main([str(tmp_path / "no_run"), f"--data_dir={pokemon_dir}"]) == 1
    out, err = capsys.readouterr()
    # the docs quote these
    assert "pokemon40 train sprites: 684 images, colourful 0.46 of the body, hue spread 0.230, hues 2.14" in out
    assert err.startswith("error: ") and "no_run" in err and err.count("\n") == 1
