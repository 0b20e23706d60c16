import numpy as np
import pytest

from genzoo.evaluation.pixel_statistics import NAMES, compare, furthest, pixel_statistics


def stats(image) -> dict:
    return dict(zip(NAMES, pixel_statistics(np.asarray(image, np.uint8)[None])[0]))


def test_a_flat_image_has_only_small_steps_no_speckle_and_one_colour():
    s = stats(np.full((4, 5, 3), 200))
    assert s["steps 0-24"] == 1 and s["steps 129-255"] == 0
    assert s["speckle"] == 0 and s["faint speckle"] == 0
    assert s["colours per pixel"] == pytest.approx(1 / 20)


def test_a_black_and_white_checkerboard_is_all_speckle_and_large_steps():
    board = (np.indices((4, 4)).sum(0) % 2 * 255)[..., None].repeat(3, -1)
    s = stats(board)
    assert s["steps 129-255"] == 1 and s["steps 0-24"] == 0
    assert s["speckle"] == 1
    assert s["colours per pixel"] == pytest.approx(2 / 16)


def test_one_stray_pixel_on_a_flat_image():
    """A 5x5 grey image with one pixel 40 levels brighter in the green channel only: its four
    steps of 40 fall into 25-64 (of 2 * 5 * 4 = 40 steps), it is faint speckle (25-48), one pixel of 25."""
    image = np.full((5, 5, 3), 70)
    image[2, 2, 1] = 110
    s = stats(image)
    assert s["steps 25-64"] == pytest.approx(4 / 40) and s["steps 0-24"] == pytest.approx(36 / 40)
    assert s["faint speckle"] == pytest.approx(1 / 25) and s["speckle"] == 0
    # Colours are counted after rounding each channel down to a multiple of 64: 70 and 110 both give 64.
    assert s["colours per pixel"] == pytest.approx(1 / 25)


def test_pixel_statistics_rejects_what_is_not_uint8_rgb():
    with pytest.raises(ValueError, match="uint8 RGB"):
        pixel_statistics(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="uint8 RGB"):
        pixel_statistics(np.zeros((4, 4, 3), np.uint8))


def test_compare_gives_each_side_its_mean_and_the_auc_of_the_pairs():
    """Flat images against checkerboards: every checkerboard step is 255, every flat one 0, so
    `steps 129-255` separates them completely (AUC 1) with means 0 and 1; `steps 0-24` the other
    way (AUC 0). Identical sides tie every pair: AUC 0.5."""
    flat = np.full((3, 4, 4, 3), 200, np.uint8)
    board = np.broadcast_to((np.indices((4, 4)).sum(0) % 2 * 255)[None, ..., None], (5, 4, 4, 3)).astype(np.uint8)
    result = compare(flat, board)
    assert set(result) == set(NAMES)
    assert result["steps 129-255"] == {"real": 0.0, "generated": 1.0, "auc": 1.0}
    assert result["steps 0-24"]["auc"] == 0.0
    assert all(v["auc"] == 0.5 for v in compare(flat, flat).values())
    assert furthest(result, 1).startswith("steps 0-24 (AUC 0.00: generated 0.000, real 1.000)")


def test_compare_auc_counts_pairs_and_ties():
    """Real speckle shares 0 and 1/16, generated 1/16: of the 2 pairs one is above (1) and one tied (0.5)."""
    real = np.full((2, 4, 4, 3), 100, np.uint8)
    real[1, 1, 1] = 255                        # one speckle pixel of 16
    fake = real[1:].copy()
    assert compare(real, fake)["speckle"]["auc"] == 0.75
