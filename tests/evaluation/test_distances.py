import numpy as np
import pytest

from genzoo.evaluation import distances


def gaussian(rng, mean, cov, n):
    return rng.multivariate_normal(mean, cov, size=n)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(200, 6))
    assert distances.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_from_statistics_matches_closed_form_for_gaussians():
    # Commuting covariances: Tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt(a) - sqrt(b))^2 of the eigenvalues.
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.5])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = distances.frechet_distance_from_statistics(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-10)
    # A rotated (non-diagonal) pair: the distance is rotation invariant.
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    got = distances.frechet_distance_from_statistics(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_grows_as_one_set_is_shifted_like_the_closed_form():
    rng = np.random.default_rng(2)
    cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    x = gaussian(rng, [0, 0], cov, 20000)
    y = gaussian(rng, [0, 0], cov, 20000)
    values = [distances.frechet_distance(x, y + [shift, 0]) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[0] < 0.01
    # Independent samples: the squared shift up to sampling noise of the means.
    assert np.allclose(values[1:], [0.25, 1.0, 4.0], atol=0.1)
    # The set against its own shifted copy: exactly the squared shift (covariances equal).
    shifted = [distances.frechet_distance(x, x + [shift, -shift]) for shift in (0.5, 1.0, 2.0)]
    assert np.allclose(shifted, [0.5, 2.0, 8.0], rtol=1e-9)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    same = [distances.kernel_inception_distance(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)),
                                                num_subsets=5, subset_size=300, seed=s)[0] for s in range(10)]
    # Unbiased: the mean over repetitions is ~0 and individual values straddle zero.
    assert abs(np.mean(same)) < 0.01 and min(same) < 0 < max(same)
    different, spread = distances.kernel_inception_distance(rng.normal(size=(300, 8)),
                                                            rng.normal(0.7, 1.0, size=(300, 8)), seed=0)
    assert different > 0.1 and different > 10 * spread


def test_mmd2_unbiased_matches_a_direct_double_sum():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    k = lambda a, b: (a @ b / 3 + 1) ** 3
    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(4)) / 20
    assert distances.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy)


def test_precision_recall_are_one_for_identical_sets_and_recall_falls_when_a_mode_is_dropped():
    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    real = np.concatenate([c + rng.normal(size=(100, 2)) for c in centres])
    assert distances.precision_recall(real, real, k=3) == (1.0, 1.0)
    three_modes = np.concatenate([c + rng.normal(size=(133, 2)) for c in centres[:3]])
    precision, recall = distances.precision_recall(real, three_modes, k=3)
    assert precision > 0.9  # what is generated is realistic ...
    assert recall < 0.8  # ... but a quarter of the real data is never produced


def test_knn_radii_is_the_distance_to_the_kth_other_point():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert np.allclose(distances.knn_radii(x, 1), [1, 1, 2, 4])
    assert np.allclose(distances.knn_radii(x, 2), [3, 2, 3, 6])
    with pytest.raises(ValueError):
        distances.knn_radii(x, 4)
