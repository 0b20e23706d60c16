"""Distances between two sets of feature vectors: Fréchet distance, KID, precision/recall.

All functions take float arrays `[N, D]` (features of real and generated images)
and are plain NumPy: they run once per evaluation, on a few thousand vectors.

References:
  Heusel et al., *GANs Trained by a Two Time-Scale Update Rule Converge to a Local
  Nash Equilibrium*, 2017 (the Fréchet distance between Gaussians fitted to features).
  Bińkowski et al., *Demystifying MMD GANs*, 2018 (KID: the unbiased MMD^2 estimator
  with the kernel k(x, y) = (x.y / d + 1)^3, averaged over subsets).
  Kynkäänniemi et al., *Improved Precision and Recall Metric for Assessing Generative
  Models*, 2019 (manifolds as unions of k-NN balls).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "frechet_distance",
    "frechet_distance_from_statistics",
    "gaussian_statistics",
    "kernel_inception_distance",
    "knn_radii",
    "mmd2_unbiased",
    "polynomial_kernel",
    "precision_recall",
]


def _features(x, name: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} must be [N >= 2, D] features, got shape {x.shape}")
    return x


# === Fréchet distance ===
def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean `[D]` and unbiased covariance `[D, D]` of features `[N, D]`."""
    x = _features(features, "features")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)): the 2-Wasserstein distance^2 of two Gaussians.

    Tr((S1 S2)^(1/2)) = Tr((S1^(1/2) S2 S1^(1/2))^(1/2)): the inner matrix is symmetric
    positive semi-definite, so its square root comes from `eigh` without the complex
    round-off that `scipy.linalg.sqrtm(S1 @ S2)` produces on singular covariances.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    root1 = _psd_sqrt(sigma1)
    inner = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
    trace_sqrt = np.sqrt(np.clip(inner, 0, None)).sum()
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)
    return max(value, 0.0)  # round-off can leave -1e-12 for identical sets


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID with Inception features)."""
    return frechet_distance_from_statistics(*gaussian_statistics(features_a), *gaussian_statistics(features_b))


# === Kernel distance ===
def polynomial_kernel(x, y) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3, the kernel of Bińkowski et al. 2018."""
    return (np.asarray(x) @ np.asarray(y).T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012, eq. 3): diagonal terms left out, so E = 0 when x, y share a law."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.mean()
    )


def kernel_inception_distance(features_a, features_b, num_subsets: int = 20, subset_size: int = 500,
                              seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD^2 over random subsets.

    Subsets keep the O(n^2) kernel small; the spread over subsets is the estimator's
    own sampling noise. Can be slightly negative (it is unbiased, not clipped).
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


# === Precision and recall ===
def _squared_distances(x, y) -> np.ndarray:
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return np.maximum(d, 0.0)


def knn_radii(features, k: int = 3) -> np.ndarray:
    """Distance from each vector to its k-th nearest other vector of the same set."""
    x = _features(features, "features")
    if not 1 <= k < len(x):
        raise ValueError(f"k must lie in 1-{len(x) - 1}, got {k}")
    d = _squared_distances(x, x)
    np.fill_diagonal(d, np.inf)  # a point is not its own neighbour
    return np.sqrt(np.partition(d, k - 1, axis=1)[:, k - 1])


def _coverage(manifold, radii, queries) -> float:
    """Share of `queries` inside at least one ball (centre from `manifold`, k-NN radius)."""
    inside = _squared_distances(queries, manifold) <= (radii ** 2)[None, :]
    return float(inside.any(axis=1).mean())


def precision_recall(real, generated, k: int = 3) -> tuple[float, float]:
    """Precision: share of generated vectors inside the real manifold (fidelity).
    Recall: share of real vectors inside the generated manifold (diversity).

    Each manifold is the union of balls around its vectors, of radius the distance
    to the k-th nearest neighbour (Kynkäänniemi et al. 2019, eq. 1-3; they use k = 3).
    """
    real, generated = _features(real, "real"), _features(generated, "generated")
    precision = _coverage(real, knn_radii(real, k), generated)
    recall = _coverage(generated, knn_radii(generated, k), real)
    return precision, recall
