"""Data-efficient GAN training: DiffAugment, spectral normalisation, R1 and the small-data recipe."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import gan_losses
from genzoo.data import DatasetSpec
from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN, ConditionalGAN
from genzoo.models.gan import augment
from genzoo.models.gan.gan import (
    CONDITIONAL_SHAPES_RECIPE,
    DATA_EFFICIENT_RECIPE,
    PLAIN_RECIPE,
    SMALL_DATA_RECIPE,
    SPRITES40_CONDITIONAL_RECIPE,
    SPRITES40_PARTS_RECIPE,
    SPRITES40_RECIPE,
)
from genzoo.models.gan.spectral_norm import SNConv2D, SNDense

SEED = tf.constant([3, 7], tf.int64)


def _images(batch=8, size=20, channels=3, seed=0):
    return tf.random.stateless_uniform([batch, size, size, channels], [seed, 0], -1.0, 1.0)


# === DiffAugment ===
@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_augmentation_is_differentiable_and_keeps_the_shape(policy):
    x = _images()
    weights = _images(seed=1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = augment.diff_augment(x, SEED, policy)
        total = tf.reduce_sum(y * weights)
    gradient = tape.gradient(total, x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.all(np.isfinite(gradient.numpy())) and float(tf.reduce_max(tf.abs(gradient))) > 0
    # Each image's augmentation touches only that image: its gradient row is nonzero.
    assert np.all(np.abs(gradient.numpy()).reshape(8, -1).max(axis=1) > 0)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color+translation+cutout"])
def test_same_seed_same_images_other_seed_other_images(policy):
    x = _images()
    a = augment.diff_augment(x, SEED, policy).numpy()
    np.testing.assert_array_equal(a, augment.diff_augment(x, SEED, policy).numpy())
    b = augment.diff_augment(x, tf.constant([3, 8], tf.int64), policy).numpy()
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("fn", [augment.translation, augment.cutout])
def test_translation_and_cutout_only_move_or_erase_pixels(fn):
    """Every output value is an input value of the same image and channel, or the fill value 0."""
    x = _images(batch=4, channels=1)
    y = fn(x, SEED).numpy()
    for image, out in zip(x.numpy(), y):
        allowed = set(image.ravel().tolist()) | {0.0}
        assert set(out.ravel().tolist()) <= allowed


def test_translation_moves_a_pixel_by_its_drawn_shift():
    x = np.zeros([16, 20, 20, 1], np.float32)
    x[:, 10, 10, 0] = 1.0
    x[:, 0, :, 0] = 0.5  # the top row: shifted down it leaves zeros above it; shifted up it leaves the image
    y = augment.translation(tf.constant(x), SEED).numpy()
    shifts = augment.translation_shifts(tf.constant(x), SEED).numpy()
    assert np.abs(shifts).max() <= 3 and len({tuple(s) for s in shifts}) > 4  # round(20 / 8) = 3; varied
    for image, (dy, dx) in zip(y, shifts):
        assert image[10 + dy, 10 + dx, 0] == 1.0 and image.sum() >= 1.0
        if dy > 0:
            assert np.all(image[:dy] == 0) and np.all(image[dy, max(dx, 0):20 + min(dx, 0), 0] == 0.5)
        if dy < 0:
            assert not np.any(image == 0.5)


def test_cutout_erases_a_half_side_square_at_its_drawn_corner():
    x = tf.ones([32, 20, 20, 2])
    y = augment.cutout(x, SEED).numpy()
    corners = augment.cutout_boxes(x, SEED).numpy()
    for image, (top, left) in zip(y, corners):
        expected = np.ones([20, 20], bool)
        expected[max(top, 0):max(top + 10, 0), max(left, 0):max(left + 10, 0)] = False
        np.testing.assert_array_equal(image[..., 0] == 1.0, expected)
        np.testing.assert_array_equal(image[..., 0], image[..., 1])  # the same mask for every channel
    assert corners.min() >= -5 and corners.max() <= 15
    inside = np.all((corners >= 0) & (corners <= 10), axis=1)
    assert np.all((y[inside] == 0).sum(axis=(1, 2, 3)) == 2 * 100)  # an uncut square: 10 x 10 x 2


def test_colour_shifts_a_grey_image_by_its_brightness_only():
    """Saturation and contrast scale around means; a constant image has no deviation to scale."""
    x = tf.fill([64, 6, 6, 3], 0.25)
    y = augment.color(x, SEED).numpy()
    per_image = y.reshape(64, -1)
    np.testing.assert_allclose(per_image, per_image[:, :1].repeat(per_image.shape[1], axis=1), atol=1e-6)
    brightness = per_image[:, 0] - 0.25
    assert np.all(np.abs(brightness) <= 0.5) and brightness.std() > 0.2  # U(-0.5, 0.5): sd 0.29


def test_policy_names_are_checked():
    assert augment.check_policy("color+cutout") == "color,cutout"
    assert augment.check_policy("none") == augment.check_policy("") == "none"
    with pytest.raises(UserError, match="unknown augmentation 'blur'"):
        augment.parse_policy("color,blur")


# === Spectral normalisation ===
def _top_singular_value(kernel):
    return float(np.linalg.svd(np.reshape(kernel, (-1, kernel.shape[-1])), compute_uv=False)[0])


@pytest.mark.parametrize("layer,shape", [(SNDense(7), (5, 12)), (SNConv2D(6, 3), (2, 8, 8, 4))])
def test_spectral_norm_divides_the_kernel_by_its_top_singular_value(layer, shape):
    x = tf.random.stateless_normal(shape, [0, 1])
    layer(x)
    # A seeded kernel with a known spectrum (3, 2.1, 1.47, ...): far from 1 before normalisation, and
    # a gap that 50 power iterations close to round-off. (The initial kernel depended on the tests
    # that ran before in the process; one draw had its top two singular values 1.5% apart.)
    rng = np.random.RandomState(0)
    rows, cols = int(np.prod(layer.kernel.shape[:-1])), int(layer.kernel.shape[-1])
    left, _ = np.linalg.qr(rng.randn(rows, cols))
    right, _ = np.linalg.qr(rng.randn(cols, cols))
    spectrum = 3.0 * 0.7 ** np.arange(cols)
    layer.kernel.assign(((left * spectrum) @ right.T).reshape(layer.kernel.shape).astype(np.float32))
    sigma = _top_singular_value(layer.kernel.numpy())
    assert abs(sigma - 3.0) < 1e-5
    u_before = layer.sn_u.numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.sn_u.numpy(), u_before)  # inference reads u, never moves it
    for _ in range(50):  # power iterations, one per training call
        layer(x, training=True)
    assert abs(float(layer.spectral_norm_estimate()) - sigma) < 1e-3 * sigma
    normalized = layer.normalized_kernel(training=False).numpy()
    assert abs(_top_singular_value(normalized) - 1.0) < 1e-3


def test_spectral_norm_gradient_goes_through_sigma():
    """With u converged, d/dW of f(W / sigma(W)) equals the gradient through an exact SVD."""
    layer = SNDense(4)
    x = tf.random.stateless_normal([6, 5], [2, 1])
    layer(x)
    for _ in range(100):
        layer(x, training=True)
    with tf.GradientTape() as tape:
        ours = tf.reduce_sum(tf.sin(layer(x, training=False)))
    with tf.GradientTape() as exact_tape:
        sigma = tf.linalg.svd(layer.kernel, compute_uv=False)[0]
        exact = tf.reduce_sum(tf.sin(tf.matmul(x, layer.kernel / sigma) + layer.bias))
    np.testing.assert_allclose(float(ours), float(exact), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(ours, layer.kernel).numpy(),
                               exact_tape.gradient(exact, layer.kernel).numpy(), atol=1e-4)


# === R1 ===
def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    w = tf.Variable(tf.random.stateless_normal([3, 4, 2], [5, 0]))
    real = tf.random.stateless_normal([5, 3, 4, 2], [6, 0])
    linear = lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3]) + 0.7
    with tf.GradientTape() as tape:
        penalty, scores = gan_losses.r1_penalty(linear, real)
        mean = tf.reduce_mean(penalty)
    squared_norm = float(tf.reduce_sum(tf.square(w)))
    np.testing.assert_allclose(penalty.numpy(), np.full(5, squared_norm), rtol=1e-6)
    np.testing.assert_allclose(scores.numpy(), linear(real).numpy())
    # The penalty trains the discriminator: d||w||^2 / dw = 2w (a gradient of a gradient).
    np.testing.assert_allclose(tape.gradient(mean, w).numpy(), 2 * w.numpy(), rtol=1e-6)


def test_r1_is_per_example_for_a_quadratic_discriminator():
    real = tf.constant([[1.0, 2.0], [-3.0, 0.5]])
    quadratic = lambda x: (tf.reduce_sum(x * x, axis=1), "logits")  # grad = 2x
    penalty, outputs = gan_losses.r1_penalty(quadratic, real)
    np.testing.assert_allclose(penalty.numpy(), [4 * 5.0, 4 * 9.25])
    assert outputs[1] == "logits"


# === The recipe as hyper-parameters ===
POKEMON = DatasetSpec("pokemon", 20, 20, "rgb", channels=3)
SHAPES = DatasetSpec("shapes", 20, 20, "rgb", channels=3)
TINY = {"latent_dim": 4, "filters": 4}
ANNEAL_KEYS = ("region_gain_end", "region_anneal_steps")


def given(recipe: dict) -> dict:
    """The recipe with the tests' own `filters` (TINY), as a model built with TINY resolves it."""
    return {**recipe, "filters": TINY["filters"]}


def test_small_datasets_default_to_the_recipe_and_keep_it_in_the_config():
    model = DCGAN(POKEMON, **TINY)
    config = model.get_config()
    assert {k: config[k] for k in SMALL_DATA_RECIPE} == given(SMALL_DATA_RECIPE)
    assert config["ema_decay"] > 0
    normalised = SMALL_DATA_RECIPE["spectral_norm"]
    assert config["d_norm"] == ("none" if normalised else "batch")
    assert any(isinstance(layer, SNConv2D) for layer in model.discriminator.layers) == normalised
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.discriminator.layers) != normalised
    assert DCGAN.from_config(config).get_config() == config
    recipe = DCGAN(POKEMON, spectral_norm=True, **TINY)  # spectral norm replaces D's batch norm
    assert recipe.d_norm == "none" and any(isinstance(layer, SNConv2D) for layer in recipe.discriminator.layers)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in recipe.discriminator.layers)
    plain = DCGAN(SHAPES, **TINY).get_config()
    assert {k: plain[k] for k in PLAIN_RECIPE} == given(PLAIN_RECIPE) and plain["d_norm"] == "batch"
    # A config saved before the recipe existed rebuilds the plain game, even on pokemon.
    old = {k: v for k, v in config.items()
           if k not in ("augment", "spectral_norm", "r1_gamma", "d_norm", "regions", "hard_regions", *ANNEAL_KEYS)}
    old["loss"] = "non_saturating"
    rebuilt = DCGAN.from_config(old).get_config()
    assert {k: rebuilt[k] for k in PLAIN_RECIPE} == given(PLAIN_RECIPE) and rebuilt["d_norm"] == "batch"
    # One saved after the recipe but before regions existed paints free RGB.
    before_regions = {k: v for k, v in config.items() if k not in ("regions", "hard_regions", *ANNEAL_KEYS)}
    assert DCGAN.from_config(before_regions).get_config()["regions"] == 0
    # One saved with regions but before the annealed gain keeps its constant gain.
    before_annealing = DCGAN.from_config({k: v for k, v in config.items() if k not in ANNEAL_KEYS}).get_config()
    assert before_annealing["regions"] == SMALL_DATA_RECIPE["regions"] and before_annealing["region_gain_end"] == 0
    # Each ingredient can be switched off alone.
    ablated = DCGAN(POKEMON, augment="none", **TINY).get_config()
    assert ablated["augment"] == "none"
    assert {k: ablated[k] for k in SMALL_DATA_RECIPE if k != "augment"} == \
        {k: v for k, v in given(SMALL_DATA_RECIPE).items() if k != "augment"}


def test_the_recipes_regions_apply_only_where_the_generator_paints_free_rgb():
    assert DCGAN(POKEMON, **TINY).regions == SMALL_DATA_RECIPE["regions"] > 0
    assert DCGAN(SHAPES, **TINY).regions == 0
    # pokemon40: regions alone gave noise there; with the white background region they organise (docs/gan.md).
    pokemon40 = DCGAN(DatasetSpec("pokemon40", 40, 40, "rgb", channels=3), **TINY)
    assert {k: pokemon40.get_config()[k] for k in SPRITES40_PARTS_RECIPE} == given(SPRITES40_PARTS_RECIPE)
    assert SPRITES40_RECIPE["region_background"] and not SMALL_DATA_RECIPE["region_background"]
    # Since 2026-12-06 the dcgan there also shades, asks for parts and draws grey outlines and lines.
    assert (pokemon40.shading, pokemon40.parts, pokemon40.inner_lines, pokemon40.outline) == (0.5, 3, 1.0, 1.0)
    assert (pokemon40.outline_grey, pokemon40.lines_grey) == (49.0, 82.0)
    assert pokemon40.generator.get_layer("region_paint").background == [1.0, 1.0, 1.0]
    assert DCGAN(POKEMON, regions=0, **TINY).regions == 0 and DCGAN(POKEMON, regions=4, **TINY).regions == 4
    assert GAN(POKEMON, latent_dim=4, hidden=8).regions == 0  # the MLP generator has no regions


def test_cgan_on_shapes_defaults_to_its_measured_recipe_and_dcgan_does_not():
    shapes = DatasetSpec("shapes", 20, 20, "palette", palette=((255, 255, 255), (0, 0, 0), (255, 0, 0)),
                         num_classes=4)
    config = ConditionalGAN(shapes, latent_dim=4).get_config()
    assert {k: config[k] for k in CONDITIONAL_SHAPES_RECIPE} == CONDITIONAL_SHAPES_RECIPE
    assert config["filters"] == 64 and config["palette_output"] == "mix" and config["aux_fake"] is False
    assert {k: config[k] for k in DATA_EFFICIENT_RECIPE} == DATA_EFFICIENT_RECIPE and config["d_norm"] == "none"
    assert ConditionalGAN.from_config(config).get_config() == config
    # The unconditional dcgan keeps the plain game there; the recipe is the conditional model's.
    assert {k: v for k, v in DCGAN(shapes, latent_dim=4).get_config().items() if k in PLAIN_RECIPE} == PLAIN_RECIPE
    # Palette logits only where they can apply: RGB data, or painted regions, keep tanh RGB.
    rgb = DatasetSpec("shapes", 20, 20, "rgb", channels=3, num_classes=4)
    assert ConditionalGAN(rgb, **TINY).palette_output == "none"
    painted = ConditionalGAN(shapes, regions=4, **TINY)
    assert painted.palette_output == "none" and painted.regions == 4 and painted.aux_fake is False
    # A cgan config saved before these keys existed rebuilds the plain game's networks and class head.
    old = {k: v for k, v in config.items() if k not in ("filters", "palette_output", "aux_fake")}
    rebuilt = ConditionalGAN.from_config(old).get_config()
    assert (rebuilt["filters"], rebuilt["palette_output"], rebuilt["aux_fake"]) == (32, "none", True)
    # On pokemon40 the cgan paints the dcgan's regions, with the twin class head and no projection term.
    pokemon40 = DatasetSpec("pokemon40", 40, 40, "rgb", channels=3, num_classes=18)
    config = ConditionalGAN(pokemon40, **TINY).get_config()
    assert {k: config[k] for k in SPRITES40_CONDITIONAL_RECIPE} == given(SPRITES40_CONDITIONAL_RECIPE)
    assert config["aux_twin"] is True and config["projection"] is False
    assert (config["shading"], config["outline"], config["texture_weight"]) == (0.5, 0.8, 0.0)
    conditional = ConditionalGAN(pokemon40, **TINY)  # the cgan keeps its one-hue recipe: no parts, black lines
    assert (conditional.parts, conditional.inner_lines, conditional.outline_grey) == (0, 0.0, 0.0)
    # Without a class head the projection is what reads the label, and the twin has no head to pair.
    headless = ConditionalGAN(pokemon40, aux_weight=0.0, **TINY)
    assert headless.projection is True and headless.aux_twin is False
    # A cgan saved before these two keys existed rebuilds its projection and no twin.
    old = {k: v for k, v in config.items() if k not in ("aux_twin", "projection")}
    rebuilt = ConditionalGAN.from_config(old)
    assert rebuilt.projection is True and rebuilt.aux_twin is False
    assert "class_projection" in [layer.name for layer in rebuilt.discriminator.layers]


def test_keras_file_keeps_the_spectral_norm_state(tmp_path):
    model = DCGAN(POKEMON, spectral_norm=True, **TINY)
    model.compile_for_training(1e-3)
    model.train_step({"image": tf.zeros([4, 20, 20, 3], tf.uint8), "label": tf.fill([4], -1)})  # u moves
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    for a, b in zip(loaded.discriminator.weights, model.discriminator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=b.path)
    x = _images(batch=2)
    np.testing.assert_array_equal(loaded.discriminator(x).numpy(), model.discriminator(x).numpy())


@pytest.mark.parametrize("bad,message", [
    ({"augment": "blur"}, "unknown augmentation 'blur'"),
    ({"r1_gamma": -1.0}, "r1_gamma must be >= 0"),
    ({"d_norm": "group"}, "unknown d_norm 'group'"),
    ({"spectral_norm": "yes"}, "spectral_norm must be true or false"),
])
def test_bad_recipe_values_name_the_culprit(bad, message):
    with pytest.raises(UserError, match=message):
        DCGAN(POKEMON, **TINY, **bad)


def test_both_players_see_augmented_images_seeded_by_the_step():
    model = ConditionalGAN(DatasetSpec("pokemon", 20, 20, "rgb", channels=3, num_classes=3), **TINY)
    model.compile_for_training(1e-3)
    calls = []
    original = model.augment
    model.augment = lambda x, seed: calls.append(tuple(seed.numpy())) or original(x, seed)
    batch = {"image": tf.zeros([4, 20, 20, 3], tf.uint8), "label": tf.constant([0, 1, 2, 0])}
    model.train_step(batch)
    assert len(calls) == 3 and len(set(calls)) == 3  # D: real and generated, G: generated; three seeds
    first = calls[:]
    model.train_step(batch)
    assert len(set(calls)) == 6  # the next step draws new transformations
    model.g_optimizer.iterations.assign(0)  # a resumed run at the same step draws the same ones
    calls.clear()
    model.train_step(batch)
    assert calls == first


# Mirrored-strategy equality of the recipe (DiffAugment, spectral norm, R1): `dcgan`'s row of
# tests/small_models.py uses it, so tests/training/test_distributed.py and the contract test cover it.
