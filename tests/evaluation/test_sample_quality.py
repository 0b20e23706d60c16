"""`genzoo.evaluation.sample_quality`: the per-seed scores and their spread (genzoo/evaluation/__init__.py)."""

import numpy as np
import pytest

from genzoo.evaluation import sample_quality


def flat_pixels(images):
    """A stand-in feature extractor: the pixels themselves."""
    return np.asarray(images, np.float64).reshape(len(images), -1)


def test_a_generator_of_the_real_images_scores_perfectly_on_every_seed():
    real = np.random.default_rng(0).integers(0, 256, size=(30, 2, 2, 3), dtype=np.uint8)
    scores = sample_quality(flat_pixels, real, lambda seed: real, seeds=[0, 1, 2])
    assert scores["frechet_distance"]["per_seed"] == pytest.approx([0, 0, 0], abs=1e-6)
    assert scores["precision"]["mean"] == 1.0 and scores["recall"]["mean"] == 1.0
    assert scores["frechet_distance"]["std"] == pytest.approx(0, abs=1e-6)


def test_scores_of_a_shifted_generator_are_worse_and_the_spread_is_over_seeds():
    rng = np.random.default_rng(1)
    real = rng.integers(0, 128, size=(60, 2, 2, 3)).astype(np.uint8)
    shifted = lambda seed: np.random.default_rng(seed).integers(100, 228, size=(60, 2, 2, 3)).astype(np.uint8)
    scores = sample_quality(flat_pixels, real, shifted, seeds=[0, 1, 2])
    per_seed = scores["frechet_distance"]["per_seed"]
    assert len(per_seed) == 3 and len(set(per_seed)) == 3
    assert min(per_seed) > 0.8 * 100**2 * 12  # the mean moved by 100 levels in each of 12 dimensions
    assert scores["frechet_distance"]["std"] == pytest.approx(np.std(per_seed))
    assert scores["kid"]["mean"] > 0 and scores["recall"]["mean"] < 0.5
