"""The DCGAN's palette outputs: logits over the dataset's colours, or K per-image region colours,
instead of free RGB."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.data import encodings
from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN
from genzoo.models.gan.networks import PaletteMix, RegionPaint

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


def test_region_paint_mixes_each_images_own_colours_in_training_and_picks_one_in_inference():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)       # 2 images, 5 regions
    colours = rng.uniform(-1, 1, size=(2, 5 * 3)).astype(np.float32)  # 5 RGB colours per image
    per_image = colours.reshape(2, 5, 3)
    weights = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    soft = RegionPaint()([logits, colours], training=True)
    np.testing.assert_allclose(soft, np.einsum("bhwk,bkc->bhwc", weights, per_image), atol=1e-6)
    hard = RegionPaint()([logits, colours], training=False).numpy()
    expected = np.take_along_axis(per_image[:, None, None], logits.argmax(-1)[..., None, None], axis=3)[..., 0, :]
    np.testing.assert_allclose(hard, expected, atol=1e-6)
    # In inference every pixel is one of its image's 5 colours: at most 5 distinct colours per image.
    assert max(len(np.unique(image.reshape(-1, 3), axis=0)) for image in hard) <= 5
    # Straight-through: the inference picture in training too, with the softmax's gradient.
    logits, colours = tf.constant(logits), tf.constant(colours)
    grads = []
    for layer in (RegionPaint(straight_through=True), RegionPaint()):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            painted = layer([logits, colours], training=True)
            out = tf.reduce_sum(painted * tf.constant([0.3, -0.2, 0.7]))
        grads.append(tape.gradient(out, logits))
        if layer.straight_through:
            np.testing.assert_allclose(painted, hard, atol=1e-6)
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-6)
    assert np.abs(grads[0]).max() > 0
    # A gain g paints softmax(g * logits); inference picks the same regions whatever g > 0.
    gained = np.exp(3 * logits.numpy()) / np.exp(3 * logits.numpy()).sum(-1, keepdims=True)
    np.testing.assert_allclose(RegionPaint(gain=3.0)([logits, colours], training=True),
                               np.einsum("bhwk,bkc->bhwc", gained, per_image), atol=1e-6)
    np.testing.assert_allclose(RegionPaint(gain=3.0)([logits, colours], training=False), hard, atol=1e-6)


@pytest.mark.parametrize("encoding", ["palette", "rgb"])
def test_a_region_dcgan_samples_at_most_k_colours_per_image_and_survives_its_config(encoding):
    spec = data.load("shapes", "train", encoding=encoding)[1]
    model = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=3, hard_regions=encoding == "rgb", region_gain=2.0,
                  upsample="nearest" if encoding == "rgb" else "transpose")
    samples = model.sample(6, seed=3).numpy()
    rgb = data.to_rgb_uint8(samples, spec).numpy().reshape(6, -1, 3)
    assert max(len(np.unique(image, axis=0)) for image in rgb) <= 3
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 3  # but each image has its own colours
    again = DCGAN.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.sample(6, seed=3).numpy(), samples)


def test_regions_are_checked(shapes_spec):
    for bad in (1, -2, 2.5, True):
        with pytest.raises(UserError, match="regions must be 0"):
            DCGAN(shapes_spec, latent_dim=8, filters=8, regions=bad)
    with pytest.raises(UserError, match="palette_output=none"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, regions=4, palette_output="mix")
    with pytest.raises(UserError, match="hard_regions needs regions"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, hard_regions=True)
    with pytest.raises(UserError, match="hard_regions must be true or false"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, regions=4, hard_regions="yes")
    with pytest.raises(UserError, match="needs the DCGAN generator"):
        GAN(shapes_spec, latent_dim=8, hidden=16, regions=4)
    with pytest.raises(UserError, match="upsample must be one of transpose, nearest"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, upsample="bilinear")
    with pytest.raises(UserError, match="DCGAN generator only"):
        GAN(shapes_spec, latent_dim=8, hidden=16, upsample="nearest")
    for bad in ({"regions": 4, "region_gain": 0.0}, {"region_gain": 2.0}):
        with pytest.raises(UserError, match="region_gain must be > 0 and needs regions"):
            DCGAN(shapes_spec, latent_dim=8, filters=8, **bad)


def test_an_annealed_region_paint_paints_with_the_gain_its_weight_holds():
    logits = tf.random.stateless_normal([2, 4, 4, 3], [0, 1])
    colours = tf.random.stateless_uniform([2, 9], [0, 2], -1.0, 1.0)
    annealed = RegionPaint(gain=2.0, annealed=True)
    np.testing.assert_allclose(annealed([logits, colours], training=True),
                               RegionPaint(gain=2.0)([logits, colours], training=True), atol=1e-6)
    annealed.annealed_gain.assign(5.0)
    np.testing.assert_allclose(annealed([logits, colours], training=True),
                               RegionPaint(gain=5.0)([logits, colours], training=True), atol=1e-6)
    assert RegionPaint.from_config(annealed.get_config()).annealed


def test_the_region_gain_grows_linearly_over_the_anneal_steps_then_stays(shapes_spec):
    """region_gain 2 -> 5 over 4 generator steps: step k (counted from 0) paints with
    2 + 3 * min(1, k / 4); the averaged generator copies the value; checkpoints restore it."""
    model = DCGAN(shapes_spec, latent_dim=8, filters=8, seed=1, regions=3, region_gain=2.0,
                  region_gain_end=5.0, region_anneal_steps=4)
    model.compile_for_training(1e-3)
    batch = next(iter(data.load("shapes", "train")[0].batch(8)))
    step = tf.function(model.train_step)
    seen = []
    for _ in range(6):
        step(batch)
        seen.append(float(model.generator.get_layer("region_paint").annealed_gain.numpy()))
        assert float(model.ema_generator.get_layer("region_paint").annealed_gain.numpy()) == seen[-1]
    np.testing.assert_allclose(seen, [2.0 + 3.0 * min(1.0, k / 4) for k in range(6)], rtol=1e-6)
    config = model.get_config()
    assert (config["region_gain_end"], config["region_anneal_steps"]) == (5.0, 4)
    again = DCGAN.from_config(config)
    assert again.generator.get_layer("region_paint").annealed
    # A config saved before annealing existed rebuilds the constant gain, without the extra weight.
    old = {k: v for k, v in config.items() if k not in ("region_gain_end", "region_anneal_steps")}
    assert not DCGAN.from_config(old).generator.get_layer("region_paint").annealed


def test_region_annealing_is_checked(shapes_spec):
    with pytest.raises(UserError, match="region_gain_end must be >= 0 .*needs regions >= 2 and region_anneal_steps"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, region_gain_end=4.0, region_anneal_steps=10)
    with pytest.raises(UserError, match="region_gain_end must be >= 0"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, regions=3, region_gain_end=4.0, region_anneal_steps=0)
    with pytest.raises(UserError, match="region_gain_end must be >= 0"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, regions=3, region_gain_end=-1.0, region_anneal_steps=3)
    for bad in (-1, 2.5, True):
        with pytest.raises(UserError, match="region_anneal_steps must be an integer >= 0"):
            DCGAN(shapes_spec, latent_dim=8, filters=8, regions=3, region_gain_end=4.0, region_anneal_steps=bad)


def test_a_background_region_paints_its_fixed_colour_and_starts_ahead_by_its_logit():
    """Region 0 is the given colour exactly; the colours input holds the other K - 1; its logit is
    `background_logit` ahead before the gain: softmax([g(l0 + b), g l1, ...])."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)        # 2 images, 4 regions
    colours = rng.uniform(-1, 1, size=(2, 3 * 3)).astype(np.float32)  # the 3 free RGB colours per image
    white = (1.0, 1.0, 1.0)
    per_image = np.concatenate([np.ones((2, 1, 3), np.float32), colours.reshape(2, 3, 3)], axis=1)
    shifted = 2.0 * (logits + np.array([1.5, 0, 0, 0], np.float32))
    weights = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
    layer = RegionPaint(gain=2.0, background=white, background_logit=1.5)
    np.testing.assert_allclose(layer([logits, colours], training=True),
                               np.einsum("bhwk,bkc->bhwc", weights, per_image), atol=1e-6)
    hard = layer([logits, colours], training=False).numpy()
    expected = np.take_along_axis(per_image[:, None, None], shifted.argmax(-1)[..., None, None], axis=3)[..., 0, :]
    np.testing.assert_allclose(hard, expected, atol=1e-6)
    assert (hard == 1.0).all(-1).any()  # some pixels are the background, exactly
    again = RegionPaint.from_config(layer.get_config())
    np.testing.assert_allclose(again([logits, colours], training=True), layer([logits, colours], training=True))


@pytest.mark.parametrize("encoding", ["palette", "rgb"])
def test_an_untrained_background_dcgan_starts_from_its_background(encoding):
    """At zero region logits the background's probability is 0.8 (e^b / (e^b + K - 1)); an untrained
    generator's logits are small, so its samples (each pixel's most likely region) are background."""
    spec = data.load("shapes", "train", encoding=encoding)[1]
    model = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=5, region_background=True)
    paint = model.generator.get_layer("region_paint")
    zero = np.zeros((1, 1, 1, 5), np.float32)
    colours = np.zeros((1, 4 * 3), np.float32)
    np.testing.assert_allclose(tf.nn.softmax(zero + [paint.background_logit, 0, 0, 0, 0])[..., 0], 0.8, rtol=1e-6)
    assert len(model.generator.get_layer("region_colours").get_weights()[1]) == 4 * 3
    background = np.array(data.encodings.background_symmetric(spec))
    np.testing.assert_allclose(paint([zero, colours], training=False)[0, 0, 0], background, atol=1e-6)
    samples = model.sample(16, seed=3).numpy()
    rgb = data.to_rgb_uint8(samples, spec).numpy().reshape(-1, 3)
    share = (rgb == np.round((background + 1) * 127.5).astype(np.uint8)).all(-1).mean()
    assert share > 0.99, share
    again = DCGAN.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.sample(16, seed=3).numpy(), samples)
    # A config saved before the option existed rebuilds without a background region.
    old = {k: v for k, v in model.get_config().items() if k != "region_background"}
    assert DCGAN.from_config(old).generator.get_layer("region_paint").background is None


def test_region_background_is_checked(shapes_spec):
    with pytest.raises(UserError, match="region_background must be true or false and needs regions >= 2"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, region_background=True)
    with pytest.raises(UserError, match="region_background must be true or false"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, regions=3, region_background="yes")



def _shade(x, t):
    """A colour in [-1, 1] moved t of the way towards white (t > 0) or black (t < 0)."""
    return np.where(t > 0, x + t * (1 - x), x + t * (1 + x))


def test_shading_moves_each_pixel_towards_white_or_black_and_leaves_the_background_exact():
    """shading s: a pixel's colour moves s * tanh(its shade logit) of the way; the background's share
    of a pixel is not shaded; training and inference shade alike (each on its own region choice)."""
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    colours = rng.uniform(-1, 1, size=(2, 3 * 3)).astype(np.float32)
    shade = rng.normal(size=(2, 3, 4, 1)).astype(np.float32)
    per_image = np.concatenate([np.ones((2, 1, 3), np.float32), colours.reshape(2, 3, 3)], axis=1)
    layer = RegionPaint(gain=2.0, background=(1.0, 1.0, 1.0), background_logit=1.5, shading=0.3)
    shifted = 2.0 * (logits + np.array([1.5, 0, 0, 0], np.float32))
    weights = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
    mixed = np.einsum("bhwk,bkc->bhwc", weights, per_image)
    tone = 0.3 * np.tanh(shade) * (1 - weights[..., :1])
    np.testing.assert_allclose(layer([logits, colours, shade], training=True), _shade(mixed, tone), atol=1e-5)
    hard = layer([logits, colours, shade], training=False).numpy()
    region = shifted.argmax(-1)
    picked = np.take_along_axis(per_image[:, None, None], region[..., None, None], axis=3)[..., 0, :]
    expected = np.where((region == 0)[..., None], 1.0, _shade(picked, 0.3 * np.tanh(shade)))
    np.testing.assert_allclose(hard, expected, atol=1e-5)
    assert (hard[region != 0] != picked[region != 0]).all()  # every body pixel shaded
    # A zero shade paints what the layer painted without shading.
    plain = RegionPaint(gain=2.0, background=(1.0, 1.0, 1.0), background_logit=1.5)
    for training in (True, False):
        np.testing.assert_allclose(layer([logits, colours, np.zeros_like(shade)], training=training),
                                   plain([logits, colours], training=training), atol=1e-6)
    assert RegionPaint.from_config(layer.get_config()).shading == 0.3


def test_shade_steps_round_the_shade_to_a_few_tones_with_the_continuous_gradient():
    """shade_steps n: the tanh is rounded to a multiple of 1 / n, in training (straight-through: the value
    rounded, the gradient the continuous shade's, also where it rounds to no shade) and in sampling alike,
    so a body region has 2n + 1 tones."""
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    colours = rng.uniform(-1, 1, size=(2, 2 * 3)).astype(np.float32)
    shade = (3 * rng.normal(size=(2, 5, 6, 1))).astype(np.float32)
    per_image = np.concatenate([np.ones((2, 1, 3), np.float32), colours.reshape(2, 2, 3)], axis=1)
    region = logits.argmax(-1)
    picked = np.take_along_axis(per_image[:, None, None], region[..., None, None], axis=3)[..., 0, :]
    for steps in (1, 2):
        layer = RegionPaint(background=(1.0, 1.0, 1.0), shading=0.4, shade_steps=steps, straight_through=True)
        tone = 0.4 * np.round(np.tanh(shade) * steps) / steps
        expected = np.where((region == 0)[..., None], 1.0, _shade(picked, tone))
        for training in (True, False):
            np.testing.assert_allclose(layer([logits, colours, shade], training=training), expected, atol=1e-5)
        for image in range(2):
            tones = {tuple(np.round(c, 5)) for c in expected[image][region[image] != 0]}
            assert len(tones) <= 2 * (2 * steps + 1)  # two body colours, 2n + 1 tones each
        assert RegionPaint.from_config(layer.get_config()).shade_steps == steps
    # The gradient reaching the shade logits is the continuous shade's, not the rounding's zero.
    x = tf.constant(shade)
    continuous = RegionPaint(background=(1.0, 1.0, 1.0), shading=0.4, straight_through=True)
    grads = []
    for paint in (layer, continuous):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.reduce_sum(paint([logits, colours, x], training=True) * np.linspace(-1, 1, 3))
        grads.append(tape.gradient(out, x).numpy())
    assert (np.abs(grads[1][region[..., None] != 0]) > 0).all()  # every body pixel's shade has a gradient
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-6)


def test_a_shaded_dcgan_has_one_shade_per_pixel_and_survives_its_config():
    spec = data.load("shapes", "train", encoding="rgb")[1]
    model = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=3, shading=0.3)
    assert model.generator.get_layer("shade").filters == 1
    samples = model.sample(6, seed=3).numpy()
    assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0
    again = DCGAN.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.sample(6, seed=3).numpy(), samples)
    # A config saved before shading existed rebuilds without it.
    old = {k: v for k, v in model.get_config().items() if k != "shading"}
    assert DCGAN.from_config(old).generator.get_layer("region_paint").shading == 0.0
    # shade_steps: in the config and the layer; a config saved before it existed shades continuously.
    stepped = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=3, shading=0.3, shade_steps=2)
    assert stepped.generator.get_layer("region_paint").shade_steps == 2
    again = DCGAN.from_config(stepped.get_config())
    assert again.shade_steps == 2
    old = {k: v for k, v in stepped.get_config().items() if k != "shade_steps"}
    assert DCGAN.from_config(old).generator.get_layer("region_paint").shade_steps == 0


def test_shading_is_checked(shapes_spec):
    for bad in (1, -0.1, 1.5, True, "0.3"):
        with pytest.raises(UserError, match=r"shading must be a number in \[0, 1\)"):
            DCGAN(shapes_spec, latent_dim=8, filters=8, regions=3, shading=bad)
    with pytest.raises(UserError, match="needs regions >= 2, got 0.3 with regions=0"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, shading=0.3)
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(UserError, match=r"shade_steps must be an integer >= 0 \(0: continuous\)"):
            DCGAN(shapes_spec, latent_dim=8, filters=8, regions=3, shading=0.3, shade_steps=bad)
    with pytest.raises(UserError, match=r"shade_steps .* needs shading > 0, got 2 with shading=0.0"):
        DCGAN(shapes_spec, latent_dim=8, filters=8, regions=3, shade_steps=2)


def _edge(background):
    """Brute force: each pixel's (1 - background share) * the largest share of its 4 neighbours,
    outside the image counting as 1."""
    b, h, w = background.shape
    out = np.zeros_like(background)
    for i in range(h):
        for j in range(w):
            near = [background[:, y, x] if 0 <= y < h and 0 <= x < w else np.ones(b, np.float32)
                    for y, x in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1))]
            out[:, i, j] = (1 - background[:, i, j]) * np.max(near, axis=0)
    return out


def test_outline_moves_the_body_pixels_next_to_the_background_towards_black_after_the_shade():
    """outline t: in sampling, exactly the body pixels with a background 4-neighbour (or on the image's
    border) move t of the way to black; in training the same by the soft shares."""
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    logits[:, 1:4, 1:5, 0] -= 9.0  # a 3x4 body: its middle pair has no background neighbour
    colours = rng.uniform(-1, 1, size=(2, 2 * 3)).astype(np.float32)
    shade = rng.normal(size=(2, 5, 6, 1)).astype(np.float32)
    per_image = np.concatenate([np.ones((2, 1, 3), np.float32), colours.reshape(2, 2, 3)], axis=1)
    layer = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, shading=0.3, outline=0.8)
    shifted = logits + np.array([0.5, 0, 0], np.float32)
    weights = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
    tone = 0.3 * np.tanh(shade) * (1 - weights[..., :1])
    shaded = _shade(np.einsum("bhwk,bkc->bhwc", weights, per_image), tone)
    expected = shaded - 0.8 * _edge(weights[..., 0])[..., None] * (1 + shaded)
    np.testing.assert_allclose(layer([logits, colours, shade], training=True), expected, atol=1e-5)
    region = shifted.argmax(-1)
    body = region != 0
    edge = _edge((~body).astype(np.float32)) > 0
    assert edge.any() and (body & ~edge).any() and not (edge & ~body).any()
    picked = np.take_along_axis(per_image[:, None, None], region[..., None, None], axis=3)[..., 0, :]
    shaded = np.where(body[..., None], _shade(picked, 0.3 * np.tanh(shade)), 1.0)
    expected = np.where(edge[..., None], shaded - 0.8 * (1 + shaded), shaded)
    np.testing.assert_allclose(layer([logits, colours, shade], training=False), expected, atol=1e-5)
    # outline=1 paints the edge black exactly; 0 paints what the layer painted without it.
    black = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, shading=0.3, outline=1.0)
    np.testing.assert_allclose(black([logits, colours, shade], training=False).numpy()[edge], -1.0, atol=1e-6)
    off = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, shading=0.3)
    unoutlined = off([logits, colours, shade], training=False).numpy()
    np.testing.assert_allclose(unoutlined, shaded, atol=1e-5)
    assert RegionPaint.from_config(layer.get_config()).outline == 0.8


def _apart(body):
    """Brute force: each pixel's largest chance, over its right and lower neighbours, that the two are
    body of different regions (weights `[B, H, W, K]`, independent picks); 0 where no such neighbour."""
    b, h, w, k = body.shape
    out = np.zeros((b, h, w), np.float32)
    for i in range(h):
        for j in range(w):
            for y, x in ((i, j + 1), (i + 1, j)):
                if y < h and x < w:
                    chance = sum(body[:, i, j, m] * body[:, y, x, n] for m in range(k) for n in range(k) if m != n)
                    out[:, i, j] = np.maximum(out[:, i, j], chance)
    return out


def test_inner_lines_darken_body_pixels_above_or_left_of_another_body_region():
    """inner_lines u: in sampling, exactly the body pixels whose right or lower neighbour is body of another
    region move u of the way to black (with the outline, the darker of the two); in training the same by the
    soft chances."""
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(2, 6, 7, 4)).astype(np.float32)
    logits[:, 1:5, 1:6, 0] -= 9.0  # a 4x5 body of regions 1-3
    colours = rng.uniform(-1, 1, size=(2, 3 * 3)).astype(np.float32)
    per_image = np.concatenate([np.ones((2, 1, 3), np.float32), colours.reshape(2, 3, 3)], axis=1)
    layer = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, outline=0.8, inner_lines=0.5)
    shifted = logits + np.array([0.5, 0, 0, 0], np.float32)
    weights = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
    mixed = np.einsum("bhwk,bkc->bhwc", weights, per_image)
    dark = np.maximum(0.8 * _edge(weights[..., 0]), 0.5 * _apart(weights[..., 1:]))[..., None]
    np.testing.assert_allclose(layer([logits, colours], training=True), mixed - dark * (1 + mixed), atol=1e-5)
    region = shifted.argmax(-1)
    body = region != 0
    edge = _edge((~body).astype(np.float32)) > 0
    line = _apart(np.eye(4, dtype=np.float32)[region][..., 1:]) > 0
    assert (line & ~edge).any() and (line & edge).any() and (body & ~edge & ~line).any() and not (line & ~body).any()
    picked = np.take_along_axis(per_image[:, None, None], region[..., None, None], axis=3)[..., 0, :]
    dark = np.where(edge, 0.8, np.where(line, 0.5, 0.0))[..., None]
    np.testing.assert_allclose(layer([logits, colours], training=False), picked - dark * (1 + picked), atol=1e-5)
    # Without a background region every pixel is body; inner_lines=0 paints what the layer painted without it.
    free = RegionPaint(inner_lines=1.0)([logits, np.concatenate([colours, colours[:, :3]], 1)], training=False)
    region = logits.argmax(-1)
    line = _apart(np.eye(4, dtype=np.float32)[region]) > 0
    np.testing.assert_allclose(free.numpy()[line], -1.0, atol=1e-6)
    assert (free.numpy()[~line] > -1.0).any()
    off = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, outline=0.8, inner_lines=0.0)
    plain = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, outline=0.8)
    for training in (True, False):
        np.testing.assert_allclose(off([logits, colours], training=training),
                                   plain([logits, colours], training=training), atol=1e-6)
    assert RegionPaint.from_config(layer.get_config()).inner_lines == 0.5


def test_grey_lines_paint_the_outline_and_the_inner_lines_in_their_own_greys():
    """outline_grey g, lines_grey h: in sampling an edge pixel moves t of the way to grey g, a line pixel off the
    edge u of the way to grey h (at t = u = 1 exactly those greys, whatever the body's colour); in training
    the outline's soft share first, then the line's share beyond it."""
    rng = np.random.default_rng(11)
    logits = rng.normal(size=(2, 6, 7, 4)).astype(np.float32)
    logits[:, 1:5, 1:6, 0] -= 9.0
    colours = rng.uniform(-1, 1, size=(2, 3 * 3)).astype(np.float32)
    per_image = np.concatenate([np.ones((2, 1, 3), np.float32), colours.reshape(2, 3, 3)], axis=1)
    g, h = 49 / 127.5 - 1, 82 / 127.5 - 1
    shifted = logits + np.array([0.5, 0, 0, 0], np.float32)
    region = shifted.argmax(-1)
    body = region != 0
    edge = _edge((~body).astype(np.float32)) > 0
    line = (_apart(np.eye(4, dtype=np.float32)[region][..., 1:]) > 0) & ~edge
    assert line.any() and edge.any() and (body & ~edge & ~line).any()
    picked = np.take_along_axis(per_image[:, None, None], region[..., None, None], axis=3)[..., 0, :]
    exact = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, outline=1.0, inner_lines=1.0,
                        outline_grey=49, lines_grey=82)
    painted = exact([logits, colours], training=False).numpy()
    np.testing.assert_allclose(painted[edge], g, atol=1e-6)
    np.testing.assert_allclose(painted[line], h, atol=1e-6)
    rest = ~edge & ~line
    np.testing.assert_allclose(painted[rest], picked[rest], atol=1e-6)
    layer = RegionPaint(background=(1.0, 1.0, 1.0), background_logit=0.5, outline=0.8, inner_lines=0.6,
                        outline_grey=49, lines_grey=82)
    half = np.where(edge, 0.8, 0.0)[..., None]
    expected = picked + half * (g - picked)
    expected = expected + np.where(line, 0.6, 0.0)[..., None] * (h - expected)
    np.testing.assert_allclose(layer([logits, colours], training=False), expected, atol=1e-5)
    weights = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
    e = 0.8 * _edge(weights[..., 0])[..., None]
    extra = np.maximum(0.6 * _apart(weights[..., 1:])[..., None] - e, 0) / np.maximum(1 - e, 1e-6)
    mixed = np.einsum("bhwk,bkc->bhwc", weights, per_image)
    expected = mixed + e * (g - mixed)
    np.testing.assert_allclose(layer([logits, colours], training=True), expected + extra * (h - expected), atol=1e-5)
    again = RegionPaint.from_config(layer.get_config())
    assert (again.outline_grey, again.lines_grey) == (49.0, 82.0)


def _despeckled(weights):
    """Brute force: body weights times clip(sum of the 8 neighbours' body shares - 1, 0, 1), outside the
    image counting as background; the background takes the rest."""
    _, h, w, _ = weights.shape
    body = 1 - weights[..., 0]
    out = weights.copy()
    for i in range(h):
        for j in range(w):
            near = sum(body[:, y, x] for y in (i - 1, i, i + 1) for x in (j - 1, j, j + 1)
                       if (y, x) != (i, j) and 0 <= y < h and 0 <= x < w)
            keep = np.clip(near - 1, 0, 1)
            out[:, i, j, 1:] = weights[:, i, j, 1:] * keep[:, None]
            out[:, i, j, 0] = 1 - keep * body[:, i, j]
    return out


def test_despeckle_turns_body_pixels_with_fewer_than_two_body_neighbours_into_background():
    """In sampling a lone pixel and a pair vanish, a line of three keeps its middle for one pass and loses it
    in the second, a 3x3 body stays whole; in training the same by the soft shares, before the outline."""
    region = np.zeros((1, 8, 9), np.int64)
    region[0, 1:4, 1:4] = 1  # a 3x3 body (region 1), its corners with three body neighbours
    region[0, 6, 1] = 2  # a lone pixel
    region[0, 6, 4:6] = 2  # a pair: one neighbour each
    region[0, 0:3, 7] = 2  # a line of three: its ends have one neighbour, its middle two
    logits = np.where(np.eye(3, dtype=bool)[region], 8.0, -8.0).astype(np.float32)
    colours = np.full((1, 2 * 3), -0.5, np.float32)
    for passes, kept in ((1, {(1, 7)}), (2, set())):
        layer = RegionPaint(background=(1.0, 1.0, 1.0), despeckle=passes)
        painted = layer([logits, colours], training=False).numpy()[0]
        body = painted.min(-1) < 1
        expected = region[0] == 1
        for y, x in kept:
            expected[y, x] = True
        np.testing.assert_array_equal(body, expected)
    rng = np.random.default_rng(13)
    soft = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    colours = rng.uniform(-1, 1, size=(2, 2 * 3)).astype(np.float32)
    weights = np.exp(soft) / np.exp(soft).sum(-1, keepdims=True)
    per_image = np.concatenate([np.ones((2, 1, 3), np.float32), colours.reshape(2, 2, 3)], axis=1)
    for passes in (1, 2):
        clean = weights
        for _ in range(passes):
            clean = _despeckled(clean)
        mixed = np.einsum("bhwk,bkc->bhwc", clean, per_image)
        expected = mixed - 0.8 * _edge(clean[..., 0])[..., None] * (1 + mixed)
        layer = RegionPaint(background=(1.0, 1.0, 1.0), outline=0.8, despeckle=passes)
        np.testing.assert_allclose(layer([soft, colours], training=True), expected, atol=1e-5)
    assert RegionPaint.from_config(layer.get_config()).despeckle == 2


def test_an_outlined_dcgan_survives_its_config_and_export_and_checks_its_value(tmp_path):
    from genzoo import serving

    spec = data.load("shapes", "train", encoding="rgb")[1]
    model = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=3, region_background=True, outline=0.7,
                  inner_lines=0.6, outline_grey=49, lines_grey=82.5, despeckle=1)
    paint = model.generator.get_layer("region_paint")
    assert (paint.outline, paint.inner_lines, paint.outline_grey, paint.lines_grey) == (0.7, 0.6, 49.0, 82.5)
    assert paint.despeckle == 1
    # An untrained generator paints only background: lower region 0's logits so bodies appear.
    for generator in (model.generator, model.ema_generator):
        head = next(layer for layer in generator.layers if layer.name != "shade" and getattr(layer, "filters", 0) == 3)
        head.bias.assign([-3.0, 0.0, 0.0])
    samples = model.sample(6, seed=3).numpy()
    assert 0 < (samples.min(-1) < samples.max() * 0.5).mean() < 1  # dark outline pixels and others
    again = DCGAN.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.sample(6, seed=3).numpy(), samples)
    loaded = tf.saved_model.load(serving.export(model, str(tmp_path / "export"), max_num_samples=6))
    out = loaded.signatures["sample"](num_samples=tf.constant(6), seed=tf.constant(3, tf.int64))
    np.testing.assert_array_equal(out["images"].numpy(), encodings.to_rgb_uint8(samples, spec).numpy())
    # Saved before outline and inner_lines (or their greys) existed.
    old = {k: v for k, v in model.get_config().items()
           if k not in ("outline", "inner_lines", "outline_grey", "lines_grey", "despeckle")}
    paint = DCGAN.from_config(old).generator.get_layer("region_paint")
    assert (paint.outline, paint.inner_lines, paint.outline_grey, paint.lines_grey) == (0.0, 0.0, 0.0, 0.0)
    assert paint.despeckle == 0
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(UserError, match=r"despeckle must be an integer >= 0"):
            DCGAN(spec, latent_dim=8, filters=8, regions=3, region_background=True, despeckle=bad)
    with pytest.raises(UserError, match="despeckle .* needs region_background, got 1 with region_background=False"):
        DCGAN(spec, latent_dim=8, filters=8, regions=3, despeckle=1)
    for bad in (-1, 256, True, "49"):
        with pytest.raises(UserError, match=r"outline_grey must be a grey level in \[0, 255\]"):
            DCGAN(spec, latent_dim=8, filters=8, regions=3, region_background=True, outline=0.7, outline_grey=bad)
        with pytest.raises(UserError, match=r"lines_grey must be a grey level in \[0, 255\]"):
            DCGAN(spec, latent_dim=8, filters=8, regions=3, inner_lines=0.6, lines_grey=bad)
    with pytest.raises(UserError, match="outline_grey .* needs outline > 0, got 49 with outline=0.0"):
        DCGAN(spec, latent_dim=8, filters=8, regions=3, region_background=True, outline_grey=49)
    with pytest.raises(UserError, match="lines_grey .* needs inner_lines > 0, got 82 with inner_lines=0.0"):
        DCGAN(spec, latent_dim=8, filters=8, regions=3, lines_grey=82)
    for bad in (-0.1, 1.5, True, "0.7"):
        with pytest.raises(UserError, match=r"outline must be a number in \[0, 1\]"):
            DCGAN(spec, latent_dim=8, filters=8, regions=3, region_background=True, outline=bad)
        with pytest.raises(UserError, match=r"inner_lines must be a number in \[0, 1\]"):
            DCGAN(spec, latent_dim=8, filters=8, regions=3, inner_lines=bad)
    with pytest.raises(UserError, match="needs region_background, got 0.7 with region_background=False"):
        DCGAN(spec, latent_dim=8, filters=8, regions=3, outline=0.7)
    with pytest.raises(UserError, match="needs regions >= 2, got 0.6 with regions=0"):
        DCGAN(spec, latent_dim=8, filters=8, inner_lines=0.6)
