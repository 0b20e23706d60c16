"""The silhouette discriminator (`silhouette_weight`): its masks, its step, its place in the generator's loss."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.models import DCGAN
from genzoo.models.gan import augment, silhouette
from tests.models.gan_bodies import POKEMON40, TINY, assert_config_round_trip_and_off, batch, generator_gradient_norms


def test_real_mask_is_one_off_the_background_colour():
    x = tf.constant([[[[1.0, 1.0, 1.0], [1.0, 1.0, 0.99], [-1.0, -1.0, -1.0]]]])
    np.testing.assert_array_equal(silhouette.real_mask(x, [1.0, 1.0, 1.0]).numpy()[0, 0, :, 0], [0, 1, 1])
    np.testing.assert_array_equal(silhouette.real_mask(x, [-1.0, -1.0, -1.0]).numpy()[0, 0, :, 0], [1, 1, 0])


def test_fake_mask_is_the_argmax_with_the_soft_body_shares_gradient():
    logits = tf.random.stateless_normal([2, 5, 5, 4], [1, 2])
    weights = tf.random.stateless_normal([2, 5, 5, 1], [3, 4])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        hard = silhouette.fake_mask(logits)
        soft = 1.0 - tf.nn.softmax(logits)[..., :1]
        a, b = tf.reduce_sum(hard * weights), tf.reduce_sum(soft * weights)
    np.testing.assert_array_equal(hard.numpy()[..., 0], (np.argmax(logits.numpy(), -1) > 0).astype(np.float32))
    np.testing.assert_allclose(tape.gradient(a, logits).numpy(), tape.gradient(b, logits).numpy(), atol=1e-6)
    np.testing.assert_array_equal(silhouette.to_input(tf.constant([0.0, 1.0])).numpy(), [-1.0, 1.0])


def test_a_step_trains_the_silhouette_discriminator_and_leaves_the_generators_statistics():
    model = DCGAN(POKEMON40, silhouette_weight=1.0, **TINY)
    model.compile_for_training(1e-3)
    before = [w.numpy().copy() for w in model.s_discriminator.trainable_weights]
    moving = [w.numpy().copy() for w in model.generator.non_trainable_weights if "moving" in w.path]
    assert moving  # the generator has batch norm statistics to keep
    model.discriminator_step(model.to_model_space(batch()["image"]), None, tf.constant([1, 2], tf.int64))
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.s_discriminator.trainable_weights))
    for m, w in zip(moving, [w for w in model.generator.non_trainable_weights if "moving" in w.path]):
        np.testing.assert_array_equal(m, w.numpy())  # the frozen generator's view moved nothing
    results = tf.function(model.train_step)(batch())
    assert np.isfinite(float(results["s_loss"])) and int(model.s_optimizer.iterations) == 2
    assert "s_loss" in model.test_step(batch())


def test_the_silhouette_term_reaches_the_generator_by_its_weight():
    norms = generator_gradient_norms([DCGAN(POKEMON40, silhouette_weight=weight, **TINY) for weight in (1.0, 4.0)])
    assert abs(norms[0] - norms[1]) > 1e-3 * norms[0]


def test_config_round_trip_and_off_means_no_second_discriminator():
    assert_config_round_trip_and_off("silhouette_weight", 0.5, "s_discriminator", "s_loss")


def test_mask_augmentations_keep_masks_and_fill_with_background():
    masks = tf.cast(tf.random.stateless_uniform([64, 40, 40, 1], [7, 8]) < 0.6, tf.float32)
    seen = augment.mask_augment(masks, tf.constant([1, 2]), "xflip,translation,cutout").numpy()
    assert set(np.unique(seen)) <= {0.0, 1.0}  # still masks
    assert seen.sum() < masks.numpy().sum()  # cutout and the shifts' borders only ever remove body
    erased = [((s == 0) & (m == 1)).sum() for s, m in zip(seen, masks.numpy())]
    assert min(erased) > 0  # every mask loses some of its body
    np.testing.assert_array_equal(seen, augment.mask_augment(masks, tf.constant([1, 2]), "xflip,translation,cutout"))
    flipped = augment.mask_augment(masks, tf.constant([1, 2]), "xflip").numpy()  # each mask as it was or mirrored
    assert all(np.array_equal(f, m) or np.array_equal(f, m[:, ::-1]) for f, m in zip(flipped, masks.numpy()))


def test_the_generators_silhouette_term_goes_through_the_augmentation():
    """The same weights and step seed: a different `silhouette_augment` gives the generator another gradient."""
    norms = generator_gradient_norms([DCGAN(POKEMON40, silhouette_weight=1.0, silhouette_augment=ops, **TINY)
                                       for ops in ("xflip", "xflip,translation,cutout")])
    assert abs(norms[0] - norms[1]) > 1e-4 * norms[0]


def test_silhouette_augment_round_trips_and_defaults_to_mirroring():
    model = DCGAN(POKEMON40, silhouette_weight=0.5, silhouette_augment="xflip+translation+cutout", **TINY)
    config = model.get_config()
    assert config["silhouette_augment"] == "xflip,translation,cutout"
    assert DCGAN.from_config(config).silhouette_augment == "xflip,translation,cutout"
    old = {k: v for k, v in config.items() if k != "silhouette_augment"}  # saved before it existed
    assert DCGAN.from_config(old).silhouette_augment == "xflip"
    assert DCGAN(POKEMON40, **TINY).get_config()["silhouette_augment"] is None


@pytest.mark.parametrize("bad,message", [
    ({"silhouette_weight": 1.0, "silhouette_augment": "rotate90"},
     "unknown augmentation 'rotate90' in silhouette_augment='rotate90'; choose from xflip, translation, cutout"),
    ({"silhouette_weight": 1.0, "silhouette_augment": ""}, "silhouette_augment must name at least one of"),
    ({"silhouette_augment": "xflip"}, "silhouette_augment needs silhouette_weight > 0"),
    ({"silhouette_weight": -1.0}, r"silhouette_weight must be a weight in \[0, 100\]"),
    ({"silhouette_weight": 1.0, "region_background": False}, "silhouette_weight .* needs region_background"),
])
def test_bad_silhouette_values_name_the_culprit(bad, message):
    with pytest.raises(UserError, match=message):
        DCGAN(POKEMON40, **TINY, **bad)
