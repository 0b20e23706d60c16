"""Likelihood on held-out images: exact for autoregressive models, bounds for VAEs.

Numbers are per image in nats and per dimension in bits
(bits/dim = nats / (num_dims * ln 2), `DatasetSpec.num_dims`), averaged over the
split, with the standard error of that mean over images.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (exact log-likelihood as a product of conditionals).
  Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, 2016 (the k-sample
  bound L_k: L_1 is the ELBO, L_k <= L_{k+1} <= log p(x) in expectation).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

# Decoder evaluations per call of the importance-weighted bound (k per image):
# keeps the [batch * k, H, W, colours] likelihood parameters within a few hundred MB.
DECODES_PER_CALL = 1024


def summarise(log_probs: np.ndarray, num_dims: int) -> dict:
    """Per-image log-likelihoods (nats) -> mean NLL in nats and bits/dim, with standard errors."""
    nll = -np.asarray(log_probs, np.float64)
    stderr = float(nll.std(ddof=1) / math.sqrt(len(nll))) if len(nll) > 1 else 0.0
    per_dim = num_dims * math.log(2.0)
    return {
        "nll_nats": float(nll.mean()), "nll_nats_stderr": stderr,
        "bits_per_dim": float(nll.mean() / per_dim), "bits_per_dim_stderr": stderr / per_dim,
        "num_images": len(nll),
    }


def exact_log_probs(model, dataset: tf.data.Dataset, batch_size: int = 64) -> np.ndarray:
    """log p(x) per image (nats) of every image of an unbatched `{"image", "label"}` dataset."""
    log_prob = tf.function(model.log_prob, reduce_retracing=True)
    labels = (lambda batch: batch["label"]) if model.conditional else (lambda batch: None)
    return np.concatenate([log_prob(batch["image"], labels(batch)).numpy() for batch in dataset.batch(batch_size)])


def importance_weighted_bounds(model, dataset: tf.data.Dataset, num_samples: int, seed: int = 0) -> np.ndarray:
    """The k-sample bound per image (nats) with k = `num_samples`; k = 1 is the ELBO.

    Batch b draws its noise from seed (seed, b) (stateless), so the numbers are
    reproducible from the seed and independent of the batch size used elsewhere.
    """
    batch_size = max(1, DECODES_PER_CALL // num_samples)
    conditional = model.conditional

    out = []
    # Eager on purpose: each call is a few large batched ops, and a traced function per k
    # costs more to trace (seconds) than it saves.
    for index, batch in enumerate(dataset.batch(batch_size)):
        labels = batch["label"] if conditional else None
        out.append(model.importance_weighted_bound(batch["image"], labels, num_samples,
                                                   tf.constant(seed * 1000003 + index, tf.int64)).numpy())
    return np.concatenate(out)


def vae_bounds(model, dataset: tf.data.Dataset, ks=(1, 8, 64), seed: int = 0) -> dict:
    """{"k": summary} for each k: the ELBO (k = 1) and tighter importance-weighted bounds.

    The NLL numbers are upper bounds on the true negative log-likelihood; they should
    fall as k grows (by more than their Monte-Carlo noise, `nll_nats_stderr` is over images).
    """
    spec = model.spec
    return {str(k): summarise(importance_weighted_bounds(model, dataset, k, seed), spec.num_dims) for k in ks}
