import math

import numpy as np
import pytest
import tensorflow as tf

from genzoo.data import builtin
from genzoo.evaluation import likelihood
from genzoo.models import VAE, ConditionalVAE, PixelCNN


@pytest.fixture(scope="module")
def dataset():
    images, labels = builtin.generate(16)
    return tf.data.Dataset.from_tensor_slices({"image": images.astype(np.int32), "label": labels.astype(np.int32)})


@pytest.fixture(scope="module")
def loose_vae():
    """A tiny VAE whose posterior q(z|x) = N(1.5, e^-1) misses the true one (the decoder barely
    uses z, so p(z|x) is close to the N(0, I) prior): the ELBO is several nats loose, and the
    importance-weighted bound has room to tighten."""
    model = VAE(builtin.SPEC, latent_dim=4, filters=4, hidden=16)
    head = model.encoder.layers[-1]
    kernel, _ = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.array([1.5] * 4 + [-1.0] * 4, np.float32)])
    return model


def test_importance_weighted_bound_is_above_the_elbo_and_tightens_with_k(loose_vae, dataset):
    bounds = likelihood.vae_bounds(loose_vae, dataset, ks=(1, 8, 64), seed=0)
    nll = [bounds[k]["nll_nats"] for k in ("1", "8", "64")]
    # The gap of the ELBO is KL(q || p(z|x)) ~ KL(q || prior) = 5.2 nats; Monte-Carlo noise of
    # the mean over 16 images is well under 1 nat at a fixed seed.
    # (Per image, k = 1 is a single draw and may land above L_64; the order holds for the mean.)
    assert nll[0] - nll[1] > 1.0 and nll[1] - nll[2] > 0.2


def test_importance_weighted_bounds_are_reproducible_from_the_seed(loose_vae, dataset):
    a = likelihood.importance_weighted_bounds(loose_vae, dataset, 4, seed=3)
    b = likelihood.importance_weighted_bounds(loose_vae, dataset, 4, seed=3)
    c = likelihood.importance_weighted_bounds(loose_vae, dataset, 4, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_exact_log_probs_match_the_model_and_bits_per_dim_follow(dataset):
    model = PixelCNN(builtin.SPEC, filters=8, blocks=1, embed_dim=8)
    got = likelihood.exact_log_probs(model, dataset, batch_size=5)  # batches of 5, 5, 5, 1
    images = np.concatenate([b["image"] for b in dataset.batch(16).as_numpy_iterator()])
    assert np.allclose(got, model.log_prob(images).numpy(), rtol=1e-5)
    summary = likelihood.summarise(got, builtin.SPEC.num_dims)
    assert summary["nll_nats"] == pytest.approx(-got.mean(), rel=1e-6)
    assert summary["bits_per_dim"] == pytest.approx(-got.mean() / (400 * math.log(2)), rel=1e-6)
    assert summary["nll_nats_stderr"] == pytest.approx(got.std(ddof=1) / 4, rel=1e-6)


def test_conditional_vae_bounds_use_the_labels(dataset):
    cvae = ConditionalVAE(builtin.SPEC, latent_dim=4, filters=4, hidden=16)
    with_labels = likelihood.importance_weighted_bounds(cvae, dataset, 2, seed=0)
    shifted = dataset.map(lambda ex: {"image": ex["image"], "label": (ex["label"] + 1) % 4})
    assert with_labels.shape == (16,) and np.isfinite(with_labels).all()
    assert not np.allclose(with_labels, likelihood.importance_weighted_bounds(cvae, shifted, 2, seed=0))
