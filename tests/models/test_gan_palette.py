"""The DCGAN's palette output: logits over the dataset's colours instead of free RGB."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN
from genzoo.models.gan.networks import PaletteMix

PALETTE = ((255, 255, 255), (0, 0, 0), (255, 0, 0))
COLOURS = np.array(PALETTE, np.float32) / 127.5 - 1.0


def test_palette_mix_is_the_softmax_weighted_mean_of_the_colours():
    logits = np.array([[[[0.0, 1.0, -2.0], [3.0, 3.0, 3.0]]]], np.float32)
    weights = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(PaletteMix(PALETTE)(logits), weights @ COLOURS, atol=1e-6)


def test_straight_through_paints_the_most_likely_colour_with_the_softmax_gradient():
    logits = tf.constant([[[[0.0, 1.0, -2.0], [0.5, -1.0, 2.0]]]])
    hard, soft = PaletteMix(PALETTE, straight_through=True), PaletteMix(PALETTE)
    np.testing.assert_allclose(hard(logits)[0, 0], COLOURS[[1, 2]], atol=1e-6)  # exact palette colours
    grads = []
    for layer in (hard, soft):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            out = tf.reduce_sum(layer(logits) * tf.constant([0.3, -0.2, 0.7]))
        grads.append(tape.gradient(out, logits))
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-6)
    assert np.abs(grads[0]).max() > 0


@pytest.fixture(scope="module")
def shapes_spec():
    return data.load("shapes", "train")[1]


@pytest.mark.parametrize("mode", ["mix", "straight_through"])
def test_a_palette_dcgan_samples_palette_indices_and_survives_its_config(shapes_spec, mode):
    model = DCGAN(shapes_spec, latent_dim=8, filters=8, seed=1, palette_output=mode)
    assert model.generator.output_shape == (None, 20, 20, 3)
    samples = model.sample(4, seed=3).numpy()
    assert samples.shape == (4, 20, 20) and samples.min() >= 0 and samples.max() < len(shapes_spec.palette)
    again = DCGAN.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.sample(4, seed=3).numpy(), samples)
    if mode == "straight_through":  # the generator's own colours are palette colours, exactly
        out = model.ema_generator(model.sample_codes(4, 3), training=False).numpy().reshape(-1, 3)
        palette = np.array(shapes_spec.palette, np.float32) / 127.5 - 1.0
        assert np.abs(out[:, None] - palette[None]).max(-1).min(1).max() < 1e-5


def test_palette_output_is_checked(shapes_spec):
    with pytest.raises(UserError, match="unknown palette_output"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, palette_output="soft")
    rgb_spec = data.load("shapes", "train", encoding="rgb")[1]
    with pytest.raises(UserError, match="needs palette data"):
        DCGAN(rgb_spec, latent_dim=8, filters=8, palette_output="mix")
    with pytest.raises(UserError, match="needs the DCGAN generator"):
        GAN(shapes_spec, latent_dim=8, hidden=16, palette_output="mix")
