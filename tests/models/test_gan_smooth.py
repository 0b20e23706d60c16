"""Smoothed region logits (`region_smooth`, `region_smooth_parts`): the closed forms of `networks.smoothed` and
`networks.SmoothEdge`, the generator's wiring, smooth sampled edges, the configuration and errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.models import DCGAN
from genzoo.models.gan import networks
from tests.models.gan_bodies import POKEMON40, TINY, region_logits_layer


def _bilinear_doubled(values):
    """1-D bilinear resize by 2 with half-pixel centres (edges clamped): output 2j + 1/2 sits at input j + 1/4."""
    before = np.concatenate([values[:1], values[:-1]])
    after = np.concatenate([values[1:], values[-1:]])
    out = np.empty(2 * len(values))
    out[0::2], out[1::2] = 0.75 * values + 0.25 * before, 0.75 * values + 0.25 * after
    return out


def test_smoothed_is_block_means_resized_bilinearly():
    maps = np.random.default_rng(0).normal(size=[2, 8, 6, 3]).astype(np.float32)
    got = networks.smoothed(tf.constant(maps), 2).numpy()
    means = maps.reshape(2, 4, 2, 3, 2, 3).mean((2, 4))
    rows = np.apply_along_axis(_bilinear_doubled, 1, means)
    expected = np.apply_along_axis(_bilinear_doubled, 2, rows)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_array_equal(networks.smoothed(tf.constant(maps), 1).numpy(), maps)


def test_smoothed_keeps_a_plane_inside_and_removes_a_checkerboard():
    y, x = np.mgrid[0:12, 0:12].astype(np.float32)
    plane = (0.5 * x - 0.25 * y + 1)[None, :, :, None]
    got = networks.smoothed(tf.constant(plane), 2).numpy()
    np.testing.assert_allclose(got[0, 1:-1, 1:-1], plane[0, 1:-1, 1:-1], atol=1e-5)  # linear fields pass
    checker = ((x + y) % 2 * 2 - 1)[None, :, :, None]  # the finest pattern a pixel-wise map can draw
    np.testing.assert_allclose(networks.smoothed(tf.constant(checker), 2).numpy(), 0, atol=1e-6)


def _logits_and_conv(model):
    """The generator's region logits as the paint gets them, and the convolution's output they come from."""
    generator = model.generator
    paint = generator.get_layer("region_paint")
    conv = region_logits_layer(model)
    probe = keras.Model(generator.inputs, [paint.input[0], conv.output])
    return probe(tf.random.stateless_normal([3, model.latent_dim], [1, 2]), training=False)


def test_the_generator_paints_smoothed_logits_and_shade():
    model = DCGAN(POKEMON40, region_smooth=4, **TINY)
    logits, raw = _logits_and_conv(model)
    np.testing.assert_allclose(logits, networks.smoothed(raw, 4), atol=1e-5)
    assert not np.allclose(logits, raw, atol=1e-3)
    shade = model.generator.get_layer("shade")
    assert isinstance(shade.output._keras_history.operation, keras.layers.Conv2D)
    paint = model.generator.get_layer("region_paint")
    assert isinstance(paint.input[2]._keras_history.operation, keras.layers.UpSampling2D)
    plain = DCGAN(POKEMON40, **TINY)
    logits, raw = _logits_and_conv(plain)
    np.testing.assert_array_equal(logits, raw)


def _logsumexp(x):
    top = x.max(-1, keepdims=True)
    return top + np.log(np.exp(x - top).sum(-1, keepdims=True))


def test_smooth_edge_takes_the_split_from_the_fields_and_the_parts_from_the_raw_logits():
    rng = np.random.default_rng(3)
    raw = rng.normal(size=[2, 6, 4, 5]).astype(np.float32)
    np.testing.assert_allclose(networks.BodyLevel()(tf.constant(raw)),
                               np.concatenate([raw[..., :1], _logsumexp(raw[..., 1:])], -1), atol=1e-5)
    levels = rng.normal(size=[2, 6, 4, 2]).astype(np.float32)  # stand-ins for the smoothed levels
    got = networks.SmoothEdge()([tf.constant(raw), tf.constant(levels)]).numpy()
    np.testing.assert_array_equal(got[..., 0], levels[..., 0])
    np.testing.assert_allclose(got[..., 1:], levels[..., 1:] + raw[..., 1:] - _logsumexp(raw[..., 1:]), atol=1e-5)
    share = tf.nn.softmax(got)[..., 0].numpy()  # the background's share: the smooth fields alone
    np.testing.assert_allclose(share, 1 / (1 + np.exp(levels[..., 1] - levels[..., 0])), atol=1e-6)
    np.testing.assert_array_equal(got[..., 1:].argmax(-1), raw[..., 1:].argmax(-1))  # the parts: pixel-fine
    constant = tf.fill([1, 4, 4, 5], 0.7)  # an untrained generator's logits pass unchanged
    np.testing.assert_allclose(networks.SmoothEdge()([constant, networks.smoothed(networks.BodyLevel()(constant), 2)]),
                               constant, atol=1e-5)


def test_the_generator_smooths_only_the_body_edge_when_asked():
    model = DCGAN(POKEMON40, region_smooth=2, region_smooth_parts=False, **TINY)
    logits, raw = _logits_and_conv(model)
    raw = raw.numpy()
    levels = networks.smoothed(tf.constant(np.concatenate([raw[..., :1], _logsumexp(raw[..., 1:])], -1)), 2).numpy()
    np.testing.assert_allclose(logits[..., 0], levels[..., 0], atol=1e-5)
    np.testing.assert_allclose(logits[..., 1:], levels[..., 1:] + raw[..., 1:] - _logsumexp(raw[..., 1:]), atol=1e-4)


def _edge_turns(masks):
    """Per image, the pixels where the body mask changes between horizontal or vertical neighbours."""
    return (np.abs(np.diff(masks, axis=1)).sum((1, 2)) + np.abs(np.diff(masks, axis=2)).sum((1, 2)))


def test_smoothed_logits_paint_bodies_with_shorter_edges():
    """Painted from pixel-wise noise, a body has a ragged edge (half of all neighbours differ); from the same
    noise smoothed, far fewer body/background changes between neighbours: spikes and specks are gone."""
    noise = tf.constant(np.random.default_rng(1).normal(size=[6, 40, 40, 3]), tf.float32)
    colours = tf.constant(np.zeros([6, 6]), tf.float32)
    paint = networks.RegionPaint(background=[1.0, 1.0, 1.0])
    masks = [np.all(paint([logits, colours], training=False).numpy() == 1.0, -1).astype(np.float32)
             for logits in (noise, networks.smoothed(noise, 2))]
    assert np.all((masks[0].mean((1, 2)) > 0.2) & (masks[1].mean((1, 2)) > 0.2))
    assert np.all((masks[0].mean((1, 2)) < 0.5) & (masks[1].mean((1, 2)) < 0.5))
    assert np.all(_edge_turns(masks[1]) < 0.6 * _edge_turns(masks[0]))


def test_config_round_trips_and_old_configs_play_unsmoothed():
    model = DCGAN(POKEMON40, region_smooth=2, region_smooth_parts=False, **TINY)
    config = model.get_config()
    assert config["region_smooth"] == 2 and config["region_smooth_parts"] is False
    assert DCGAN.from_config(config).get_config() == config
    old = {k: v for k, v in DCGAN(POKEMON40, **TINY).get_config().items()
           if k not in ("region_smooth", "region_smooth_parts")}
    rebuilt = DCGAN.from_config(old)
    assert rebuilt.region_smooth == 0 and rebuilt.region_smooth_parts is True


@pytest.mark.parametrize("kwargs, message", [
    ({"region_smooth": -1}, "region_smooth must be an integer >= 0"),
    ({"region_smooth": True}, "region_smooth must be an integer >= 0"),
    ({"region_smooth": 2.0}, "region_smooth must be an integer >= 0"),
    ({"region_smooth": 2, "regions": 0}, "region_smooth must be an integer >= 0 (0: off) and needs regions >= 2"),
    ({"region_smooth": 3}, "region_smooth must divide the image's height and width, got 3 for 40x40 images"),
    ({"region_smooth": 2, "region_smooth_parts": "no"}, ("region_smooth_parts must be true or false, and false "
     "needs region_smooth >= 2 and region_background, got 'no' with region_smooth=2, region_background=True")),
    ({"region_smooth_parts": False}, "got False with region_smooth=0, region_background=True"),
    ({"region_smooth": 2, "region_smooth_parts": False, "region_background": False},
     "got False with region_smooth=2, region_background=False"),
])
def test_bad_smoothing_names_the_culprit(kwargs, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DCGAN(POKEMON40, **{**TINY, **kwargs})
