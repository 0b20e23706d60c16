import math

import numpy as np
import pytest

from genzoo.data import builtin, to_rgb_uint8
from genzoo.evaluation import two_sample


def shapes_rgb(num: int, seed: int) -> np.ndarray:
    return to_rgb_uint8(builtin.generate(num, seed)[0], builtin.SPEC).numpy()


def box_blur(rgb: np.ndarray) -> np.ndarray:
    padded = np.pad(rgb.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = rgb.shape[1:3]
    return np.round(sum(padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9).astype(np.uint8)


def softened(rgb: np.ndarray, weight: float = 0.3) -> np.ndarray:
    """`weight` of a 3x3 box blur mixed into the image: a mild blur. The full blur is found as
    easily as noise once the pixel statistics see the smoothed outlines (accuracy 1.0 on `shapes`);
    this one lies between (0.76 at seed 0, 0.80 over seeds 0-2; weight 0.25 gave 0.62, 0.35 0.95)."""
    return np.round((1 - weight) * rgb + weight * box_blur(rgb)).astype(np.uint8)


def uniform_noise(num: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(num, size, size, 3), dtype=np.uint8)


def pixel_noise(rgb: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, rgb.shape)
    return np.clip(np.round(rgb + noise), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def c2st_results():
    """80 `shapes` sprites against a second draw, softened (mildly blurred) sprites, uniform noise and sprites
    with sigma-32 pixel noise, the last with and without the pixel statistics (one call each)."""
    real, other = shapes_rgb(80, 1), shapes_rgb(80, 2)
    speckled = pixel_noise(other, 32, 3)
    return {
        "same": two_sample.c2st(real, other, seeds=(0, 1, 2)),
        "blur": two_sample.c2st(real, softened(other), seeds=(0,)),
        "noise": two_sample.c2st(real, uniform_noise(80, 20, 3), seeds=(0,)),
        "speckle": two_sample.c2st(real, speckled, seeds=(0,)),
        "speckle, pixels only": two_sample.c2st(real, speckled, seeds=(0,), statistics=False),
    }


# === Classifier two-sample test ===
def test_c2st_of_two_draws_of_shapes_is_within_the_chance_band(c2st_results):
    result = c2st_results["same"]
    band = two_sample.chance_band(2 * result["num_per_side"])
    assert band == pytest.approx(0.1)
    assert abs(result["accuracy"] - 0.5) <= band
    assert result["p_value"] > 0.01
    assert result["num_per_side"] == 80 and result["folds"] == 5 and result["seeds"] == [0, 1, 2]
    assert len(result["per_seed"]) == 3 and result["accuracy"] == pytest.approx(np.mean(result["per_seed"]))
    assert result["per_seed"] == [c / 160 for c in result["correct_per_seed"]]
    assert 0 < result["std"] < 0.2  # single folds of 32 predictions: binomial sd 0.5 / sqrt(32) = 0.09


def test_c2st_tells_uniform_noise_from_shapes(c2st_results):
    result = c2st_results["noise"]
    assert result["accuracy"] > 0.95
    assert result["p_value"] < 1e-6


def test_c2st_of_blurred_shapes_lies_between_chance_and_noise(c2st_results):
    same, blur, noise = (c2st_results[k]["accuracy"] for k in ("same", "blur", "noise"))
    # Told apart (above the chance band), but less easily than noise.
    assert 0.5 + two_sample.chance_band(160) < blur < noise
    assert same < blur
    assert c2st_results["blur"]["p_value"] < 1e-3


def test_c2st_sees_pixel_noise_through_the_pixel_statistics(c2st_results):
    """The blind spot of the CNN alone (docs/evaluation.md, calibration): sigma-32 noise on real
    sprites. With the per-image statistics beside the pixels it is found; without them it is not."""
    with_statistics, pixels_only = c2st_results["speckle"], c2st_results["speckle, pixels only"]
    assert with_statistics["pixel_statistics"] and not pixels_only["pixel_statistics"]
    assert with_statistics["accuracy"] > 0.95
    assert pixels_only["accuracy"] < with_statistics["accuracy"] - two_sample.chance_band(160)


def test_c2st_is_deterministic_for_the_same_seeds():
    """The same seeds give the same result, whether the call builds its classifier's training
    loop (an empty cache) or reuses the one an earlier call traced."""
    real, fake = shapes_rgb(40, 4), box_blur(shapes_rgb(40, 5))
    two_sample._TRAINERS.clear()
    first = two_sample.c2st(real, fake, seeds=(7,), folds=4, epochs=10)
    assert len(two_sample._TRAINERS) == 1
    two_sample.c2st(real, shapes_rgb(40, 6), seeds=(3,), folds=4, epochs=10)  # the loop trains other data between
    again = two_sample.c2st(real, fake, seeds=(7,), folds=4, epochs=10)
    assert first == again and len(two_sample._TRAINERS) == 1


def test_c2st_balances_unequal_sets_and_checks_its_inputs():
    real, fake = shapes_rgb(60, 6), shapes_rgb(45, 7)
    result = two_sample.c2st(real, fake, seeds=(0,), folds=3, epochs=2)
    assert result["num_per_side"] == 45 and result["folds"] == 3
    assert 0 <= result["correct_per_seed"][0] <= 90
    # The larger set may be either one.
    assert two_sample.c2st(fake, real, seeds=(0,), folds=3, epochs=2)["num_per_side"] == 45
    with pytest.raises(ValueError, match="image sizes differ"):
        two_sample.c2st(real, np.repeat(np.repeat(fake, 2, 1), 2, 2))
    with pytest.raises(ValueError, match="uint8 RGB"):
        two_sample.c2st(real.astype(np.float32), fake)
    with pytest.raises(ValueError, match="folds"):
        two_sample.c2st(real[:3], fake[:3], folds=5)


def test_c2st_runs_on_40x40_images():
    real = np.repeat(np.repeat(shapes_rgb(40, 8), 2, axis=1), 2, axis=2)
    assert two_sample.discriminator_network(40, 40).output_shape == (None, 1)
    result = two_sample.c2st(real, uniform_noise(40, 40, 9), seeds=(0,), folds=4, epochs=10)
    assert result["accuracy"] > 0.95


# === Binomial statistics ===
def test_binomial_p_value_matches_exact_hand_computed_tails():
    assert two_sample.binomial_p_value(9, 10) == pytest.approx(11 / 1024, rel=1e-12)
    assert two_sample.binomial_p_value(10, 10) == pytest.approx(1 / 1024, rel=1e-12)
    assert two_sample.binomial_p_value(5, 10) == pytest.approx(638 / 1024, rel=1e-12)
    assert two_sample.binomial_p_value(0, 10) == 1.0
    # A biased coin: P(X >= 2 | n = 3, p = 0.2) = 3 * 0.04 * 0.8 + 0.008.
    assert two_sample.binomial_p_value(2, 3, p=0.2) == pytest.approx(0.104, rel=1e-12)
    # Tiny tails stay accurate: all of 1000 right is 2^-1000 (about 9.3e-302).
    assert two_sample.binomial_p_value(1000, 1000) == pytest.approx(2.0 ** -1000, rel=1e-9)
    with pytest.raises(ValueError):
        two_sample.binomial_p_value(11, 10)


def test_chance_band_is_the_exact_binomial_interval():
    # n = 10, alpha = 0.05: P(X <= 1) = 11/1024 <= 0.025 < P(X <= 2) = 56/1024, so X in [2, 8].
    assert two_sample.chance_band(10, alpha=0.05) == pytest.approx(0.3)
    for n, alpha in ((160, 0.01), (1000, 0.01), (57, 0.1)):
        h = two_sample.chance_band(n, alpha)
        inside = sum(math.comb(n, k) for k in range(n + 1) if abs(k / n - 0.5) <= h + 1e-12) / 2 ** n
        tighter = sum(math.comb(n, k) for k in range(n + 1) if abs(k / n - 0.5) < h - 1e-12) / 2 ** n
        assert inside >= 1 - alpha > tighter  # covers, and is the narrowest symmetric band that does


def test_chance_band_approaches_the_normal_approximation_for_large_n():
    z = 2.5758293035489  # the 0.995 quantile of the standard normal
    for n in (10_000, 100_000):
        assert two_sample.chance_band(n, alpha=0.01) == pytest.approx(z * 0.5 / math.sqrt(n), abs=2 / n)
    assert two_sample.chance_band(100) > two_sample.chance_band(400) > two_sample.chance_band(1600)
    assert two_sample.chance_band(160, alpha=0.05) < two_sample.chance_band(160, alpha=0.01)


# === Leave-one-out 1-NN ===
def test_nearest_neighbour_accuracy_of_one_distribution_is_near_one_half():
    rng = np.random.default_rng(10)
    result = two_sample.nearest_neighbour_accuracy(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)))
    assert abs(result["accuracy"] - 0.5) < 0.07
    assert abs(result["real_side"] - 0.5) < 0.1 and abs(result["fake_side"] - 0.5) < 0.1
    pixels = two_sample.nearest_neighbour_accuracy(two_sample.pixel_features(shapes_rgb(80, 1)),
                                                   two_sample.pixel_features(shapes_rgb(80, 2)))
    assert abs(pixels["accuracy"] - 0.5) <= two_sample.chance_band(160)


def test_a_repeated_mean_image_is_a_hub_that_plain_accuracy_hides():
    real = np.random.default_rng(11).normal(size=(100, 64))
    collapsed = np.zeros((100, 64))  # the distribution's mean, 100 times
    result = two_sample.nearest_neighbour_accuracy(real, collapsed)
    assert result["fake_side"] == 1.0  # its copies are each other's neighbours
    assert result["real_side"] < 0.05  # and every real point's neighbour is the mean
    assert abs(result["accuracy"] - 0.5) < 0.05  # which the accuracy alone would call perfect


def test_one_repeated_sample_and_separated_sets_are_told_apart():
    rng = np.random.default_rng(12)
    real = rng.normal(size=(100, 64))
    one = np.repeat(rng.normal(size=(1, 64)), 100, axis=0)  # a typical point, not the mean: no hub
    result = two_sample.nearest_neighbour_accuracy(real, one)
    assert result["fake_side"] == 1.0 and result["real_side"] > 0.95
    far = two_sample.nearest_neighbour_accuracy(real, rng.normal(size=(100, 64)) + 10.0)
    assert far == {"accuracy": 1.0, "real_side": 1.0, "fake_side": 1.0, "num_per_side": 100}


def test_copies_of_the_real_points_score_zero_and_sets_are_balanced():
    real = np.random.default_rng(13).normal(size=(50, 5))
    assert two_sample.nearest_neighbour_accuracy(real, real.copy())["accuracy"] == 0.0
    unequal = two_sample.nearest_neighbour_accuracy(real, real[:20] + 100.0)
    assert unequal["num_per_side"] == 20 and unequal["accuracy"] == 1.0
    with pytest.raises(ValueError, match="feature sizes differ"):
        two_sample.nearest_neighbour_accuracy(real, real[:, :3])


def test_pixel_features_are_flat_floats_in_unit_range():
    rgb = shapes_rgb(5, 14)
    x = two_sample.pixel_features(rgb)
    assert x.shape == (5, 20 * 20 * 3) and x.dtype == np.float64
    assert x.min() >= 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x[2].reshape(20, 20, 3) * 255.0, rgb[2])
    with pytest.raises(ValueError):
        two_sample.pixel_features(rgb.astype(np.float32))
