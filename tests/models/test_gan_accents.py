"""Accents (`accents`: flat colours painted over single body pixels after the shade and the lines) and the
generator's own width (`g_filters`): closed forms, where the accents land, the step, the configuration, errors."""

import math

import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN
from genzoo.models.gan import networks
from tests.models.gan_bodies import POKEMON40, TINY, batch

WHITE, BLACK = [1.0, 1.0, 1.0], -1.0
REGION_COLOURS = [[0.2, -0.4, 0.6], [-0.6, 0.4, 0.0]]  # the two body regions'
ACCENT_COLOURS = [[0.9, 0.1, -0.9], [-0.2, -0.8, 0.5]]


def _inputs():
    """A 6 x 6 image: background around a 4 x 4 body, region 1 on its left half, region 2 on its right; accent 1
    chosen at (2, 2) (next to the line between the halves), accent 2 at (3, 3), accent 1 at (1, 1) (on the body's
    edge) and at (0, 0) (background)."""
    regions = np.zeros([1, 6, 6, 3], np.float32)
    regions[..., 0] = 10.0
    regions[0, 1:5, 1:3] = [0.0, 10.0, 0.0]
    regions[0, 1:5, 3:5] = [0.0, 0.0, 10.0]
    accents = np.zeros([1, 6, 6, 3], np.float32)
    accents[..., 0] = 10.0
    for (y, x), k in {(2, 2): 1, (3, 3): 2, (1, 1): 1, (0, 0): 1}.items():
        accents[0, y, x] = 0.0
        accents[0, y, x, k] = 10.0
    return [tf.constant(regions), tf.constant(np.reshape(REGION_COLOURS, [1, 6]), tf.float32),
            tf.constant(accents), tf.constant(np.reshape(ACCENT_COLOURS, [1, 6]), tf.float32)]


def _paint(**kwargs):
    return networks.RegionPaint(background=WHITE, accents=2, **kwargs)


def test_sampling_paints_each_chosen_accent_exactly_on_the_body_only():
    image = _paint()(_inputs(), training=False).numpy()[0]
    expected = np.ones([6, 6, 3], np.float32)
    expected[1:5, 1:3], expected[1:5, 3:5] = REGION_COLOURS
    expected[2, 2], expected[3, 3], expected[1, 1] = ACCENT_COLOURS[0], ACCENT_COLOURS[1], ACCENT_COLOURS[0]
    np.testing.assert_allclose(image, expected, atol=1e-6)  # (0, 0) stays background


def test_accents_cover_the_lines_but_not_the_outline():
    image = _paint(outline=1.0, inner_lines=1.0)(_inputs(), training=False).numpy()[0]
    np.testing.assert_allclose(image[1, 1], [BLACK] * 3, atol=1e-6)  # on the edge: the outline wins
    np.testing.assert_allclose(image[2, 2], ACCENT_COLOURS[0], atol=1e-6)  # on the line between the halves
    np.testing.assert_allclose(image[3, 2], [BLACK] * 3, atol=1e-6)  # the same line without an accent
    np.testing.assert_allclose(image[3, 3], ACCENT_COLOURS[1], atol=1e-6)


def test_training_paints_what_sampling_paints_with_the_softmax_gradient():
    rng = np.random.default_rng(0)
    inputs = _inputs()
    inputs[2] = tf.constant(rng.normal(size=[1, 6, 6, 3]) * 2, tf.float32)
    weights = tf.constant(rng.normal(size=[1, 6, 6, 3]), tf.float32)
    layer = _paint(accent_logit=0.5)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs[2])
        image = layer(inputs, training=True)
        # The same image with a soft choice of accent: what the straight-through gradient differentiates.
        regions = tf.nn.softmax(inputs[0])
        plain = networks.RegionPaint(background=WHITE)(inputs[:2], training=True)
        soft = tf.nn.softmax(inputs[2] + [0.5, 0.0, 0.0])[..., 1:]
        body = 1 - regions[..., :1]
        share = body * tf.reduce_sum(soft, -1, keepdims=True)
        mixed = plain * (1 - share) + body * tf.einsum("bhwa,ac->bhwc", soft, tf.constant(ACCENT_COLOURS))
        loss, soft_loss = tf.reduce_sum(image * weights), tf.reduce_sum(mixed * weights)
    np.testing.assert_allclose(image, layer(inputs, training=False), atol=1e-3)  # regions' softmax ~ one-hot
    chosen = np.argmax(inputs[2][0] + [0.5, 0.0, 0.0], -1) > 0
    assert chosen[1:5, 1:5].any() and not chosen[1:5, 1:5].all()  # some body pixels take an accent, not all
    np.testing.assert_allclose(tape.gradient(loss, inputs[2]), tape.gradient(soft_loss, inputs[2]), atol=1e-6)


def test_the_generator_starts_with_no_accent_at_the_stated_probability():
    model = DCGAN(POKEMON40, accents=2, **TINY)
    paint = model.generator.get_layer("region_paint")
    assert paint.accents == 2 and model.generator.get_layer("accent_logits").filters == 3
    assert model.generator.get_layer("accent_colours").units == 6
    start = tf.nn.softmax([paint.accent_logit, 0.0, 0.0]).numpy()
    np.testing.assert_allclose(start, [networks.ACCENT_FREE, 0.025, 0.025], rtol=1e-6)
    assert paint.accent_logit == pytest.approx(math.log(0.95 / 0.05 * 2))


def test_a_generator_step_trains_the_accent_layers():
    model = DCGAN(POKEMON40, accents=2, **TINY)
    model.compile_for_training(1e-3)
    layers = [model.generator.get_layer(name) for name in ("accent_logits", "accent_colours")]
    before = [layer.kernel.numpy() for layer in layers]
    results = model.generator_step(model.to_model_space(batch()["image"]), None, tf.constant([5, 6], tf.int64))
    assert np.all(np.isfinite(results["g_loss"].numpy()))
    for layer, old in zip(layers, before):
        assert not np.allclose(layer.kernel.numpy(), old)


def test_config_round_trips_and_old_configs_play_without_accents_at_one_width():
    model = DCGAN(POKEMON40, accents=3, g_filters=6, **TINY)
    config = model.get_config()
    assert config["accents"] == 3 and config["g_filters"] == 6
    assert DCGAN.from_config(config).get_config() == config
    plain = DCGAN(POKEMON40, **TINY)
    assert plain.get_config()["accents"] == 0 and plain.get_config()["g_filters"] is None
    assert plain.generator.get_layer("region_paint").accents == 0
    old = {k: v for k, v in plain.get_config().items() if k not in ("accents", "g_filters")}
    rebuilt = DCGAN.from_config(old)
    assert rebuilt.accents == 0 and rebuilt.g_filters == TINY["filters"]


def test_g_filters_widens_the_generator_only():
    def widths(model):
        return ([layer.filters for layer in model.generator.layers if hasattr(layer, "filters")],
                [layer.filters for layer in model.discriminator.layers if hasattr(layer, "filters")])

    narrow, wide = DCGAN(POKEMON40, **TINY), DCGAN(POKEMON40, g_filters=8, **TINY)
    assert widths(wide)[1] == widths(narrow)[1]
    # 40 = 5 * 2^3: three doublings from 4 * 8 (narrow) and 8 * 8 (wide) channels at 5 x 5
    assert [w for w in widths(narrow)[0]][:3] == [16, 8, 4] and [w for w in widths(wide)[0]][:3] == [32, 16, 8]


@pytest.mark.parametrize("kwargs, message", [
    ({"accents": -1}, "accents must be an integer >= 0"),
    ({"accents": True}, "accents must be an integer >= 0"),
    ({"accents": 1.5}, "accents must be an integer >= 0"),
    ({"accents": 2, "regions": 0}, "accents must be an integer >= 0 (0: off) and needs regions >= 2"),
    ({"g_filters": 0}, "g_filters must be a positive integer"),
    ({"g_filters": True}, "g_filters must be a positive integer"),
    ({"g_filters": "64"}, "g_filters must be a positive integer"),
])
def test_bad_accents_and_widths_name_the_culprit(kwargs, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DCGAN(POKEMON40, **{**TINY, **kwargs})


def test_g_filters_needs_the_dcgan_generator():
    with pytest.raises(UserError, match="g_filters must be .* needs the DCGAN generator .* got 16 for GAN"):
        GAN(POKEMON40, g_filters=16, latent_dim=4, hidden=8)
