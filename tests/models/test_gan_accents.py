"""Accents (`accents`: flat colours painted over single body pixels after the shade and the lines) and the
generator's own width (`g_filters`): closed forms, where the accents land, the step, the configuration, errors."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN
from genzoo.models.gan import networks
from tests.models.gan_bodies import POKEMON40, TINY, batch, region_logits_layer

WHITE, BLACK = [1.0, 1.0, 1.0], -1.0
REGION_COLOURS = [[0.2, -0.4, 0.6], [-0.6, 0.4, 0.0]]  # the two body regions'
ACCENT_COLOURS = [[0.9, 0.1, -0.9], [-0.2, -0.8, 0.5]]


def _inputs():
    """A 6 x 6 image: background around a 4 x 4 body, region 1 on its left half, region 2 on its right. Accent 1's
    map is highest at (0, 0) (background), then (1, 1) (the body's edge), (2, 2) (next to the line between the
    halves), (3, 2); accent 2's at (3, 3), then (2, 2) (painted over accent 1), (4, 4)."""
    regions = np.zeros([1, 6, 6, 3], np.float32)
    regions[..., 0] = 10.0
    regions[0, 1:5, 1:3] = [0.0, 10.0, 0.0]
    regions[0, 1:5, 3:5] = [0.0, 0.0, 10.0]
    maps = np.zeros([1, 6, 6, 2], np.float32)
    for k, pixels in enumerate([[(0, 0), (1, 1), (2, 2), (3, 2)], [(3, 3), (2, 2), (4, 4)]]):
        for rank, (y, x) in enumerate(pixels):
            maps[0, y, x, k] = 9.0 - rank
    return [tf.constant(regions), tf.constant(np.reshape(REGION_COLOURS, [1, 6]), tf.float32),
            tf.constant(maps), tf.constant(np.reshape(ACCENT_COLOURS, [1, 6]), tf.float32)]


def _paint(**kwargs):
    return networks.RegionPaint(background=WHITE, accents=2, **kwargs)


def _body():
    image = np.ones([6, 6, 3], np.float32)
    image[1:5, 1:3], image[1:5, 3:5] = REGION_COLOURS
    return image


def test_sampling_paints_each_accent_on_its_top_body_pixels():
    image = _paint(accent_pixels=2)(_inputs(), training=False).numpy()[0]
    expected = _body()
    expected[1, 1], expected[2, 2] = ACCENT_COLOURS[0], ACCENT_COLOURS[0]  # (0, 0) is background: not a choice
    expected[3, 3], expected[2, 2] = ACCENT_COLOURS[1], ACCENT_COLOURS[1]  # the later accent over the earlier
    np.testing.assert_allclose(image, expected, atol=1e-6)


def test_accents_skip_the_outline_and_cover_the_lines():
    image = _paint(accent_pixels=2, outline=1.0, inner_lines=1.0)(_inputs(), training=False).numpy()[0]
    np.testing.assert_allclose(image[1, 1], [BLACK] * 3, atol=1e-6)  # the edge is not a choice
    np.testing.assert_allclose(image[2, 2], ACCENT_COLOURS[1], atol=1e-6)  # on the line between the halves
    np.testing.assert_allclose(image[3, 2], ACCENT_COLOURS[0], atol=1e-6)  # accent 1's next pixel, on the line
    np.testing.assert_allclose(image[2, 3], REGION_COLOURS[1], atol=1e-6)
    np.testing.assert_allclose(image[4, 2], [BLACK] * 3, atol=1e-6)  # the body's bottom edge, no accent


def test_top_pixels_closed_form_and_straight_through_gradient():
    rng = np.random.default_rng(0)
    maps = tf.constant(rng.normal(size=[2, 5, 5, 3]), tf.float32)
    allowed = tf.constant(rng.random([2, 5, 5]) > 0.3)
    hard = networks.top_pixels(maps, allowed, 4, training=False).numpy()
    for b in range(2):
        for k in range(3):
            values = np.where(allowed[b], maps[b, ..., k], -np.inf).ravel()
            expected = np.zeros(25)
            expected[np.argsort(-values)[:4]] = 1
            np.testing.assert_array_equal(hard[b, ..., k].ravel(), expected)
    weights = tf.constant(rng.normal(size=[2, 5, 5, 3]), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(maps)
        trained = networks.top_pixels(maps, allowed, 4, training=True)
        flat = tf.where(allowed[..., None], maps, -1e9)
        soft = tf.reshape(tf.nn.softmax(tf.reshape(tf.transpose(flat, [0, 3, 1, 2]), [2, 3, 25])), [2, 3, 5, 5])
        soft = tf.minimum(1.0, 4 * tf.transpose(soft, [0, 2, 3, 1])) * tf.cast(allowed[..., None], tf.float32)
        loss, soft_loss = tf.reduce_sum(trained * weights), tf.reduce_sum(soft * weights)
    np.testing.assert_allclose(trained, hard, atol=1e-6)  # training paints what sampling paints
    np.testing.assert_allclose(tape.gradient(loss, maps), tape.gradient(soft_loss, maps), atol=1e-6)


def _all_body(model):
    """An untrained generator paints background only: make every pixel body region 1."""
    region_logits = region_logits_layer(model)
    kernel, bias = region_logits.get_weights()
    region_logits.set_weights([kernel * 0, bias + np.eye(model.regions)[1] * 20])
    model.ema_generator.set_weights(model.generator.get_weights())


def test_every_sampled_body_gets_its_accent_pixels():
    model = DCGAN(POKEMON40, accents=2, accent_pixels=3, one_body=False, outline=0.0, **TINY)
    _all_body(model)
    with_accents = model.sample(8, seed=3)
    model.generator.get_layer("accent_colours").set_weights(
        [np.zeros_like(w) for w in model.generator.get_layer("accent_colours").get_weights()])
    model.ema_generator.set_weights(model.generator.get_weights())
    grey = model.sample(8, seed=3)  # accents of colour 0 (mid grey): the same pixels, now grey
    changed = np.any(with_accents.numpy() != grey.numpy(), -1).sum((1, 2))
    assert np.all((changed >= 4) & (changed <= 6))  # 2 accents x 3 pixels, less overlap and near-equal colours


def test_a_generator_step_trains_the_accent_layers():
    model = DCGAN(POKEMON40, accents=2, **TINY)
    _all_body(model)
    model.compile_for_training(1e-3)
    layers = [model.generator.get_layer(name) for name in ("accent_logits", "accent_colours")]
    before = [layer.kernel.numpy() for layer in layers]
    results = model.generator_step(model.to_model_space(batch()["image"]), None, tf.constant([5, 6], tf.int64))
    assert np.all(np.isfinite(results["g_loss"].numpy()))
    for layer, old in zip(layers, before):
        assert not np.allclose(layer.kernel.numpy(), old)


def test_config_round_trips_and_old_configs_play_without_accents_at_one_width():
    model = DCGAN(POKEMON40, accents=3, accent_pixels=4, g_filters=6, **TINY)
    config = model.get_config()
    assert config["accents"] == 3 and config["accent_pixels"] == 4 and config["g_filters"] == 6
    assert model.generator.get_layer("region_paint").accent_pixels == 4
    assert model.generator.get_layer("accent_logits").filters == 3 and model.generator.get_layer(
        "accent_colours").units == 9
    assert DCGAN.from_config(config).get_config() == config
    plain = DCGAN(POKEMON40, **TINY)
    assert plain.get_config()["accents"] == 0 and plain.get_config()["g_filters"] is None
    assert plain.generator.get_layer("region_paint").accents == 0
    old = {k: v for k, v in plain.get_config().items() if k not in ("accents", "accent_pixels", "g_filters")}
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
    ({"accents": 2, "accent_pixels": 0}, "accent_pixels must be an integer from 1 to 64"),
    ({"accents": 2, "accent_pixels": 2.0}, "accent_pixels must be an integer from 1 to 64"),
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


def test_without_a_background_every_pixel_is_body():
    inputs = _inputs()
    layer = networks.RegionPaint(accents=2, accent_pixels=1)
    image = layer([inputs[0][..., 1:], inputs[1], *inputs[2:]], training=False).numpy()[0]
    plain = networks.RegionPaint()([inputs[0][..., 1:], inputs[1]], training=False).numpy()[0]
    np.testing.assert_allclose(image[0, 0], ACCENT_COLOURS[0], atol=1e-6)  # accent 1's top pixel, now body
    np.testing.assert_allclose(image[3, 3], ACCENT_COLOURS[1], atol=1e-6)
    assert np.sum(np.any(image != plain, -1)) == 2
