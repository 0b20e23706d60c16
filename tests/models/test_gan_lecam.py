"""The LeCam regulariser (`lecam_weight`): its closed form, its moving averages in a step, its effect on the
discriminator's update, its configuration and errors."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.models import DCGAN
from genzoo.models.gan import lecam
from tests.models.gan_bodies import POKEMON40, TINY, assert_config_round_trip_and_off, batch

SEED = tf.constant([1, 2], tf.int64)


def test_penalty_and_averages_match_the_closed_form():
    real, fake, anchors = np.array([1.0, -2.0, 0.2]), np.array([0.0, 1.0, -3.0]), np.array([0.5, -1.0])
    expected = np.maximum(real - anchors[1], 0) ** 2 + np.maximum(anchors[0] - fake, 0) ** 2
    np.testing.assert_allclose(lecam.penalty(real, fake, tf.constant(anchors, tf.float32)), expected, rtol=1e-6)
    moved = lecam.moved_anchors(tf.constant(anchors, tf.float32), real, fake)
    np.testing.assert_allclose(moved, 0.99 * anchors + 0.01 * np.array([real.mean(), fake.mean()]), rtol=1e-6)


def _scores_before_the_step(model, real):
    """The scores the discriminator step will compute (training mode, no augmentation in this recipe), read
    without moving any batch-norm statistics."""
    fake = model._frozen_call(model.generator, model._inputs(model.noise(4, SEED), None))
    return [model._scores(model._frozen_call(model.discriminator, model._inputs(x, None)))[0].numpy()
            for x in (real, fake)]


def test_a_step_moves_the_averages_then_penalises_against_them():
    model = DCGAN(POKEMON40, lecam_weight=0.5, **TINY)
    model.compile_for_training(1e-3)
    model.lecam_anchors.assign([0.3, -0.2])
    real = model.to_model_space(batch()["image"])
    real_scores, fake_scores = _scores_before_the_step(model, real)
    results = model.discriminator_step(real, None, SEED)
    anchors = 0.99 * np.array([0.3, -0.2]) + 0.01 * np.array([real_scores.mean(), fake_scores.mean()])
    np.testing.assert_allclose(model.lecam_anchors.numpy(), anchors, rtol=1e-5)
    expected = np.maximum(real_scores - anchors[1], 0) ** 2 + np.maximum(anchors[0] - fake_scores, 0) ** 2
    np.testing.assert_allclose(results["lecam"].numpy(), expected, rtol=1e-4, atol=1e-6)
    assert expected.sum() > 0  # the case exercises the penalty, not only its hinge
    assert "lecam" in model.test_step(batch())


@pytest.mark.parametrize("anchors,same", [([-1e6, 1e6], True), ([0.0, 0.0], False)])
def test_the_discriminator_update_changes_only_where_the_penalty_is_active(anchors, same):
    """Averages far beyond every score leave both hinges at zero: the same update as without LeCam; at the
    threshold (the averages' start) the update differs."""
    plain, regularised = DCGAN(POKEMON40, **TINY), DCGAN(POKEMON40, lecam_weight=10.0, **TINY)
    for model in (plain, regularised):
        model.compile_for_training(1e-3)
    for name in ("generator", "discriminator"):
        getattr(regularised, name).set_weights(getattr(plain, name).get_weights())
    regularised.lecam_anchors.assign(anchors)
    real = plain.to_model_space(batch()["image"])
    for model in (plain, regularised):
        model.discriminator_step(real, None, SEED)
    changed = [not np.allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
               for a, b in zip(plain.discriminator.trainable_weights, regularised.discriminator.trainable_weights)]
    assert not any(changed) if same else any(changed)


def test_config_round_trip_and_off_means_no_averages():
    assert_config_round_trip_and_off("lecam_weight", 0.3, "lecam_anchors", "lecam")


@pytest.mark.parametrize("bad", [-0.1, 101, True, "0.3", None])
def test_bad_lecam_values_name_the_culprit(bad):
    with pytest.raises(UserError, match=r"^lecam_weight must be a number in \[0, 100\] \(0: off\), got "):
        DCGAN(POKEMON40, lecam_weight=bad, **TINY)
