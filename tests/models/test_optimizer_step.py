"""The first Adam step on an embedding table follows Adam's closed form (the gradient summed per row first)."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.models import registry
from genzoo.models.base import dense_gradients
from tests.small_models import SMALL_HPARAMS

SPEC = data.DatasetSpec("tiny", 3, 4, "palette", palette=tuple((i * 40, i * 90 % 256, i * 20) for i in range(5)))


def test_dense_gradients_sums_repeated_rows():
    slices = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), tf.constant([2, 0, 2]),
                              tf.constant([3, 2]))
    dense, untouched = dense_gradients([slices, tf.ones([2])])
    np.testing.assert_allclose(dense.numpy(), [[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])
    np.testing.assert_allclose(untouched.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("name", ["pixel_lstm", "pixel_cnn"])
def test_first_step_is_adams_closed_form(name):
    """Adam's first step moves each weight by -lr * g / (|g| + eps / sqrt(1 - beta_2)), g the full gradient.

    Every pixel repeats palette indices, so the embedding tables get gradients with
    repeated rows: Keras' Adam given those rows unsummed moves a row by
    -lr * g / sqrt(sum of its rows' squares) instead, which this test tells apart.
    """
    model = registry.build(name, SPEC, seed=0, **SMALL_HPARAMS[name])
    model.compile_for_training(1e-3)
    images = tf.constant(np.random.RandomState(0).randint(0, 5, (8, 3, 4)), tf.int32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(-model.log_prob(images))
    raw = tape.gradient(loss, model.trainable_variables)
    assert any(isinstance(g, tf.IndexedSlices) for g in raw), "no embedding table: the test would not bite"
    gradients = dense_gradients(raw)
    before = [v.numpy() for v in model.trainable_variables]
    model.train_step({"image": images, "label": tf.zeros([8], tf.int32)})
    opt = model.optimizer
    eps = opt.epsilon / np.sqrt(1.0 - opt.beta_2)
    for variable, start, g in zip(model.trainable_variables, before, gradients):
        g = g.numpy()
        np.testing.assert_allclose(variable.numpy() - start, -1e-3 * g / (np.abs(g) + eps), rtol=2e-3, atol=1e-8,
                                   err_msg=variable.path)
