"""The patch discriminator (`patch_weight`): its windows, its training beside the main discriminator, its place in
the generator's loss, its configuration and errors."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo.data import DatasetSpec
from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN
from genzoo.models.gan import patches
from tests.models.gan_bodies import POKEMON40, TINY, assert_config_round_trip_and_off, batch, generator_gradient_norms


@pytest.mark.parametrize("size,windows", [(40, 10), (20, 5)])
def test_each_score_sees_its_twelve_pixel_window_only(size, windows):
    """Window (r, c) covers pixels 4r - 4 .. 4r + 7 (3x3 then two 4x4 stride-2 convolutions, 'same' padding):
    its score's gradient is zero outside and not inside (inference mode, so batch norm mixes no positions)."""
    network = patches.discriminator((size, size, 3), 4)
    image = tf.random.stateless_uniform([1, size, size, 3], [3, 4], -1, 1)
    for r, c in [(0, 0), (2, 3), (windows - 1, windows - 2)]:
        with tf.GradientTape() as tape:
            tape.watch(image)
            scores = network(image, training=False)
            score = scores[0, r, c]
        seen = np.abs(tape.gradient(score, image).numpy()[0]).sum(-1) > 0
        expected = np.zeros([size, size], bool)
        top, left = patches.STRIDE * r - 4, patches.STRIDE * c - 4
        expected[max(top, 0):top + patches.WINDOW, max(left, 0):left + patches.WINDOW] = True
        assert scores.shape == (1, windows, windows)
        np.testing.assert_array_equal(seen, expected)


def test_a_step_trains_the_patch_discriminator_with_the_main_ones_optimizer():
    model = DCGAN(POKEMON40, patch_weight=1.0, **TINY)
    model.compile_for_training(1e-3)
    assert len(model.d_optimizer.variables) > len(DCGAN(POKEMON40, **TINY).discriminator.weights)
    before = [w.numpy().copy() for w in model.p_discriminator.trainable_weights]
    moving = [w.numpy().copy() for w in model.generator.non_trainable_weights if "moving" in w.path]
    results = model.discriminator_step(model.to_model_space(batch()["image"]), None, tf.constant([1, 2], tf.int64))
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.p_discriminator.trainable_weights))
    for m, w in zip(moving, [w for w in model.generator.non_trainable_weights if "moving" in w.path]):
        np.testing.assert_array_equal(m, w.numpy())  # the frozen generator moved nothing
    assert results["patch_loss"].shape == (4,) and np.all(np.isfinite(results["patch_loss"].numpy()))
    assert "patch_loss" in tf.function(model.train_step)(batch()) and "patch_loss" in model.test_step(batch())


def test_the_reported_d_loss_is_the_main_discriminators_alone():
    """The patch discriminator learns beside the main one: the same weights and step give the same d_loss with it."""
    plain, patched = DCGAN(POKEMON40, **TINY), DCGAN(POKEMON40, patch_weight=1.0, **TINY)
    for model in (plain, patched):
        model.compile_for_training(1e-3)
    for name in ("generator", "discriminator"):
        getattr(patched, name).set_weights(getattr(plain, name).get_weights())
    real = plain.to_model_space(batch()["image"])
    losses = [m.discriminator_step(real, None, tf.constant([1, 2], tf.int64))["d_loss"].numpy()
              for m in (plain, patched)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_the_patch_term_reaches_the_generator_by_its_weight():
    norms = generator_gradient_norms([DCGAN(POKEMON40, patch_weight=weight, **TINY) for weight in (1.0, 4.0)])
    assert abs(norms[0] - norms[1]) > 1e-3 * norms[0]


def test_config_round_trip_and_off_means_no_patch_discriminator():
    assert_config_round_trip_and_off("patch_weight", 0.5, "p_discriminator", "patch_loss")


@pytest.mark.parametrize("model,bad", [
    (DCGAN, {"patch_weight": -1.0}), (DCGAN, {"patch_weight": 101}), (DCGAN, {"patch_weight": True}),
    (DCGAN, {"patch_weight": "1"}), (DCGAN, {"patch_weight": 1.0, "loss": "wgan_gp"}), (GAN, {"patch_weight": 1.0}),
])
def test_bad_patch_values_name_the_culprit(model, bad):
    spec = POKEMON40 if model is DCGAN else DatasetSpec("toy", 1, 2, "rgb", channels=1)
    with pytest.raises(UserError, match=r"^patch_weight must be a number in \[0, 100\] \(0: off\) and needs a DCGAN "
                                        r"discriminator \(dcgan, cgan\) and a loss without gradient penalty, got "):
        model(spec, **TINY, **bad)
