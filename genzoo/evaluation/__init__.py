"""Evaluation: likelihoods and bounds, feature-space distances, a memorisation audit, figures.

`python -m genzoo.tools.evaluate` puts them together for one trained run; see
docs/evaluation.md for what each number means and how noisy it is.
`sample_quality` is the one call a training loop needs to score a model every N
epochs (features of the held-out images can be computed once and reused).
"""

from __future__ import annotations

import numpy as np

from genzoo.evaluation import distances, pixel_statistics, two_sample
from genzoo.files import DEFAULT_FEATURES_DIR  # noqa: F401 (where it was defined before)


def _spread(values) -> dict:
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "per_seed": values}


def generate(model, num: int, seed: int, temperature: float = 1.0, chunk: int = 256) -> np.ndarray:
    """`num` encoded samples in chunks (sub-seeds seed*1000+i keep chunks independent).

    `temperature` reaches tempered samplers only (the autoregressive models).
    """
    temperature = temperature if model.tempered else 1.0
    if num <= chunk:
        return np.asarray(model.sample(num, seed, temperature=temperature))
    parts = [np.asarray(model.sample(min(chunk, num - start), seed * 1000 + i, temperature=temperature))
             for i, start in enumerate(range(0, num, chunk))]
    return np.concatenate(parts)


def two_sample_scores(real_rgb, fake_rgb, seeds, extractor=None, real_features=None,
                      diagnose: bool = False) -> dict:
    """The classifier two-sample test and the two-sided 1-NN accuracy (pixel space and, with
    `extractor`, its feature space) of `fake_rgb` against `real_rgb`, with the chance band.

    With `diagnose` also what gives the samples away: `c2st_pixels_only` (the same test
    without the pixel statistics: shapes and colours) and `pixel_statistics`
    (`pixel_statistics.compare`: each texture statistic on both sides and its AUC).

    The two sets must not be paired (corrupted copies of the same images): see `two_sample.c2st`.
    """
    scores = {"c2st": two_sample.c2st(real_rgb, fake_rgb, seeds=tuple(seeds))}
    n = scores["c2st"]["num_per_side"]
    scores["c2st"]["chance_band_99"] = two_sample.chance_band(2 * n, alpha=0.01)
    if diagnose:
        scores["c2st_pixels_only"] = two_sample.c2st(real_rgb, fake_rgb, seeds=tuple(seeds), statistics=False)
        scores["pixel_statistics"] = pixel_statistics.compare(real_rgb, fake_rgb)
    scores["nearest_neighbour_pixels"] = two_sample.nearest_neighbour_accuracy(
        two_sample.pixel_features(real_rgb), two_sample.pixel_features(fake_rgb), seed=seeds[0])
    if extractor is not None:
        real = extractor(real_rgb) if real_features is None else real_features
        scores["nearest_neighbour_features"] = two_sample.nearest_neighbour_accuracy(
            real, extractor(fake_rgb), seed=seeds[0])
    return scores


def sample_quality(extractor, real_rgb, generate_rgb, seeds, k: int = 3, real_features=None) -> dict:
    """Fréchet distance, KID, precision and recall of generated vs real images, per seed and spread.

    Args:
      extractor: uint8 RGB `[N, H, W, 3]` -> features `[N, D]` (`features.FeatureExtractor`).
      real_rgb: uint8 RGB held-out images.
      generate_rgb: seed -> uint8 RGB generated images.
      seeds: one score per seed; `mean` and `std` (population) over them.
      k: neighbours of the precision/recall manifolds (Kynkäänniemi et al. use 3).
      real_features: `extractor(real_rgb)` when the caller has it already (then real_rgb is unused).
    """
    real = extractor(real_rgb) if real_features is None else real_features
    rows = {"frechet_distance": [], "kid": [], "kid_subset_std": [], "precision": [], "recall": []}
    for seed in seeds:
        fake = extractor(generate_rgb(seed))
        kid, kid_std = distances.kernel_inception_distance(real, fake, seed=seed)
        precision, recall = distances.precision_recall(real, fake, min(k, len(real) - 1, len(fake) - 1))
        for name, value in zip(rows, (distances.frechet_distance(real, fake), kid, kid_std, precision, recall)):
            rows[name].append(value)
    return {name: _spread(values) for name, values in rows.items()}
