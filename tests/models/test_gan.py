"""GAN, DCGAN and conditional GAN: the alternating game, code space, saving, and two small experiments."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data, gan_losses, serving
from genzoo.data import DatasetSpec
from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN, ConditionalGAN, registry
from genzoo.models.capabilities import Conditional
from genzoo.models.gan.gan import PLAIN_RECIPE
from genzoo.training import TrainConfig, train


@pytest.fixture(scope="module")
def shapes():
    train_ds, spec = data.load("shapes", "train")
    return train_ds, spec


@pytest.fixture(scope="module")
def shapes_batch(shapes):
    return next(iter(shapes[0].batch(16)))


def _small(cls, spec, **kw):
    model = cls(spec, latent_dim=8, filters=8, hidden=16, seed=1, **kw)
    model.compile_for_training(1e-3)
    return model


# The plain game spelled out: the AC-GAN tests check its losses, and `cgan` on `shapes` has its own recipe.
PLAIN_GAME = {k: v for k, v in PLAIN_RECIPE.items() if k != "filters"}


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


# === The game ===
def test_discriminator_step_leaves_generator_untouched(shapes_batch):
    model = _small(DCGAN, data.load("shapes", "test")[1])
    generator_state = model.generator.weights + model.ema_generator.weights + model.g_optimizer.variables
    before_g, before_d = _values(generator_state), _values(model.discriminator.weights)
    model.discriminator_step(model.to_model_space(shapes_batch["image"]), None, model.step_seed(0))
    assert not any(_changed(before_g, generator_state))  # batch-norm moving averages included
    changed = _changed(before_d, model.discriminator.weights)
    trainable = [v.trainable for v in model.discriminator.weights]
    assert all(c for c, t in zip(changed, trainable) if t)
    assert any(c for c, t in zip(changed, trainable) if not t)  # its own batch-norm statistics moved
    assert int(model.d_optimizer.iterations) == 1 and int(model.g_optimizer.iterations) == 0


def test_generator_step_leaves_discriminator_untouched(shapes_batch, shapes):
    model = _small(DCGAN, shapes[1])
    discriminator_state = model.discriminator.weights + model.d_optimizer.variables + model.ema_generator.weights
    before_d, before_g = _values(discriminator_state), _values(model.generator.trainable_weights)
    model.generator_step(model.to_model_space(shapes_batch["image"]), None, model.step_seed(0))
    assert not any(_changed(before_d, discriminator_state))
    assert all(_changed(before_g, model.generator.trainable_weights))
    assert int(model.g_optimizer.iterations) == 1 and int(model.d_optimizer.iterations) == 0


def test_train_step_takes_k_discriminator_steps_then_one_generator_step(shapes_batch, shapes):
    model = _small(DCGAN, shapes[1], d_steps=3)
    results = model.train_step(shapes_batch)
    assert int(model.d_optimizer.iterations) == 3 and int(model.g_optimizer.iterations) == 1
    assert set(results) == set(model.metric_names)
    assert all(np.isfinite(float(v)) for v in results.values())


def test_moving_average_follows_its_ramped_decay(shapes_batch, shapes):
    model = _small(GAN, shapes[1], ema_decay=0.999)
    start = _values(model.ema_generator.weights)
    assert not any(_changed(start, model.generator.weights))  # starts as a copy
    model.train_step(shapes_batch)
    decay = min(0.999, 2.0 / 11.0)  # (1 + t) / (10 + t) after the first generator step
    for average, old, new in zip(model.ema_generator.weights, start, model.generator.weights):
        np.testing.assert_allclose(average.numpy(), decay * old + (1 - decay) * new.numpy(), rtol=1e-5, atol=1e-7)


def test_ema_decay_zero_samples_with_the_current_generator(shapes_batch, shapes):
    model = _small(DCGAN, shapes[1], ema_decay=0.0)
    model.train_step(shapes_batch)
    z = tf.random.stateless_normal([4, 8], [0, 1])
    np.testing.assert_array_equal(model.generate(z).numpy(), model.generate(z, ema=False).numpy())


def test_nan_images_give_nan_losses_for_the_trainer_to_catch():
    spec = DatasetSpec("rgb", 8, 8, "rgb", channels=3)
    model = _small(GAN, spec)
    images = np.full([4, 8, 8, 3], np.nan, np.float32)
    results = model.train_step({"image": tf.constant(images), "label": -tf.ones([4], tf.int32)})
    assert not math.isfinite(float(results["d_loss"]))


@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "wgan_gp", "hinge", "least_squares"])
def test_every_loss_trains_a_step(loss, shapes_batch, shapes):
    model = _small(GAN, shapes[1], loss=loss)
    results = model.train_step(shapes_batch)
    assert all(np.isfinite(float(v)) for v in results.values())


def test_test_step_reports_losses_on_held_out_data(shapes_batch, shapes):
    model = _small(DCGAN, shapes[1])
    results = model.test_step(shapes_batch)
    assert float(results["d_loss"]) > 0 and np.isfinite(float(results["g_loss"]))


# === Shapes, encodings and code space ===
@pytest.mark.parametrize("spec, shape, dtype", [
    (DatasetSpec("palette", 20, 20, "palette", palette=((255, 255, 255), (0, 0, 0), (200, 30, 30))), (20, 20), tf.int32),
    (DatasetSpec("pokemon40", 40, 40, "rgb", channels=3, num_classes=18), (40, 40, 3), tf.float32),
    (DatasetSpec("mnist", 28, 28, "binary"), (28, 28, 1), tf.float32),
    (DatasetSpec("cifar", 32, 32, "rgb", channels=3), (32, 32, 3), tf.float32),
])
def test_dcgan_samples_come_back_in_the_spec_encoding(spec, shape, dtype):
    model = DCGAN(spec, latent_dim=8, filters=4)
    images = model.sample(3, seed=5)
    assert images.shape == (3, *shape) and images.dtype == dtype
    np.testing.assert_array_equal(images.numpy(), model.sample(3, seed=5).numpy())
    if model.region_background:  # pokemon40's default: an untrained generator paints only its white background
        assert (images.numpy() == 1.0).all()
    elif spec.encoding != "palette":  # an untrained generator's colours all round to one palette entry
        assert not np.array_equal(images.numpy(), model.sample(3, seed=6).numpy())
    values = images.numpy()
    if spec.encoding == "palette":
        assert values.min() >= 0 and values.max() < spec.num_colors
    elif spec.encoding == "binary":
        assert set(np.unique(values)) <= {0.0, 1.0}
    else:
        assert values.min() >= 0 and values.max() <= 1


def test_palette_round_trips_through_model_space(shapes_batch, shapes):
    model = _small(DCGAN, shapes[1])
    images = shapes_batch["image"]
    np.testing.assert_array_equal(model.from_model_space(model.to_model_space(images)).numpy(), images.numpy())


def test_interpolation_ends_at_both_codes_and_keeps_norms_spherically():
    z0, z1 = tf.constant([3.0, 0.0]), tf.constant([0.0, 3.0])
    path = GAN.interpolate(z0, z1, 5).numpy()
    np.testing.assert_allclose(path[0], z0, atol=1e-5)
    np.testing.assert_allclose(path[-1], z1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0, rtol=1e-5)
    np.testing.assert_allclose(GAN.interpolate(z0, z1, 3, spherical=False).numpy()[1], [1.5, 1.5])
    with pytest.raises(UserError):
        GAN.interpolate(z0, z1, 1)


def test_attribute_vector_is_difference_of_group_means():
    a, b = tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([[0.0, 0.0], [0.0, 2.0], [0.0, 1.0]])
    np.testing.assert_allclose(GAN.attribute_vector(a, b).numpy(), [2.0, 2.0])


def test_code_space_grids_have_rows_times_steps_images(shapes):
    model = DCGAN(shapes[1], latent_dim=8, filters=4)
    assert model.interpolation_grid(2, 5, seed=0).shape == (10, 20, 20)
    assert model.attribute_grid(3, 4, seed=0, pool=16).shape == (12, 20, 20)


def test_conditional_generation_depends_on_the_label(shapes):
    model = ConditionalGAN(shapes[1], latent_dim=8, filters=4)
    z = tf.random.stateless_normal([2, 8], [0, 0])
    x0 = model(z, labels=tf.constant([0, 0])).numpy()
    x1 = model(z, labels=tf.constant([3, 3])).numpy()
    assert not np.allclose(x0, x1)
    assert model.sample(6, seed=0).shape == (6, 20, 20)


# === Auxiliary classifier (AC-GAN) ===
def test_auxiliary_classifier_loss_is_the_class_cross_entropy():
    logits = tf.constant([[0.0, math.log(3.0)], [2.0, 2.0]])
    # -log softmax: log(4/3) for class 1 of the first row (weights 1 and 3), log 2 for a tie.
    np.testing.assert_allclose(gan_losses.auxiliary_classifier_loss(tf.constant([1, 0]), logits).numpy(),
                               [math.log(4.0 / 3.0), math.log(2.0)], rtol=1e-6)


def test_aux_weight_adds_a_class_head_trained_by_both_players(shapes_batch, shapes):
    model = _small(ConditionalGAN, shapes[1], aux_weight=1.0, **PLAIN_GAME)
    images, labels = model.to_model_space(shapes_batch["image"]), shapes_batch["label"]
    scores, logits = model.discriminator([images, labels])
    assert scores.shape == (16,) and logits.shape == (16, 4)
    head = model.discriminator.get_layer("class_logits").kernel
    before = head.numpy()
    model.discriminator_step(images, labels, model.step_seed(0))
    assert not np.array_equal(before, head.numpy())  # only the class loss reaches this layer
    # The generator's loss is the adversarial one plus the class cross-entropy of its requested labels.
    seed = model.step_seed(1)
    fake = model.generator([model.noise(16, seed), labels], training=True)  # the step's forward pass
    scores, logits = model._frozen_call(model.discriminator, [fake, labels])
    expected = tf.nn.softplus(-scores) + gan_losses.auxiliary_classifier_loss(labels, logits)
    np.testing.assert_allclose(model.generator_step(images, labels, seed)["g_loss"].numpy(), expected.numpy(), rtol=1e-5)


def test_aux_fake_false_trains_the_class_head_on_real_images_only(shapes_batch, shapes):
    models = {fake: _small(ConditionalGAN, shapes[1], **{**PLAIN_GAME, "aux_fake": fake}) for fake in (True, False)}
    models[False].set_weights(models[True].get_weights())  # the same start
    model = models[True]
    images, labels = model.to_model_space(shapes_batch["image"]), shapes_batch["label"]
    seed = model.step_seed(0)
    fake = model._frozen_call(model.generator, [model.noise(16, seed), labels])
    _, fake_logits = model._frozen_call(model.discriminator, [fake, labels])
    d_loss = {f: m.discriminator_step(images, labels, seed)["d_loss"].numpy() for f, m in models.items()}
    # The only difference: the class cross-entropy of the generated images in D's loss.
    np.testing.assert_allclose(d_loss[True] - d_loss[False],
                               gan_losses.auxiliary_classifier_loss(labels, fake_logits).numpy(), rtol=1e-4, atol=1e-5)
    assert ConditionalGAN.from_config(models[False].get_config()).aux_fake is False
    old = {k: v for k, v in models[False].get_config().items() if k != "aux_fake"}
    assert ConditionalGAN.from_config(old).aux_fake is True  # a run saved before the option: the paper's form
    with pytest.raises(UserError, match="aux_fake"):
        ConditionalGAN(shapes[1], aux_fake="no")


def test_aux_twin_trains_a_twin_head_on_generated_images_that_the_generator_works_against(shapes_batch, shapes):
    # TAC-GAN (Gong et al. 2019): D's class head on real images, the twin on generated ones; the
    # generator minimises adversarial + class head's cross-entropy - twin's cross-entropy.
    models = {twin: _small(ConditionalGAN, shapes[1], **{**PLAIN_GAME, "aux_fake": False, "aux_twin": twin})
              for twin in (True, False)}
    model, plain = models[True], models[False]
    images, labels = model.to_model_space(shapes_batch["image"]), shapes_batch["label"]
    scores, logits = model.discriminator([images, labels])
    assert logits.shape == (16, 8)  # 4 class logits, then 4 twin logits
    for mine, theirs in zip(plain.weights, model.weights):  # the same start, up to the twin's half of the head
        mine.assign(theirs[..., :4] if tuple(mine.shape) != tuple(theirs.shape) else theirs)
    seed = model.step_seed(0)
    fake = model._frozen_call(model.generator, [model.noise(16, seed), labels])
    _, fake_logits = model._frozen_call(model.discriminator, [fake, labels])
    d_loss = {t: m.discriminator_step(images, labels, seed)["d_loss"].numpy() for t, m in models.items()}
    twin_ce = gan_losses.auxiliary_classifier_loss(labels, fake_logits[:, 4:])
    np.testing.assert_allclose(d_loss[True] - d_loss[False], twin_ce.numpy(), rtol=1e-4, atol=1e-5)
    seed = model.step_seed(1)
    fake = model.generator([model.noise(16, seed), labels], training=True)
    scores, logits = model._frozen_call(model.discriminator, [fake, labels])
    expected = (tf.nn.softplus(-scores) + gan_losses.auxiliary_classifier_loss(labels, logits[:, :4])
                - gan_losses.auxiliary_classifier_loss(labels, logits[:, 4:]))
    np.testing.assert_allclose(model.generator_step(images, labels, seed)["g_loss"].numpy(), expected.numpy(),
                               rtol=1e-5, atol=1e-6)
    assert ConditionalGAN.from_config(model.get_config()).aux_twin is True
    with pytest.raises(UserError, match="aux_twin"):
        ConditionalGAN(shapes[1], aux_twin=True, aux_weight=0.0)
    with pytest.raises(UserError, match="aux_twin"):
        ConditionalGAN(shapes[1], aux_twin="yes")


def test_projection_false_leaves_the_label_to_the_class_head(shapes_batch, shapes):
    # Without the projection term (Miyato & Koyama 2018) the score is psi(phi(x)) alone: the same
    # image scores the same under every label, while the class logits still come from phi(x).
    models = {p: _small(ConditionalGAN, shapes[1], **{**PLAIN_GAME, "projection": p, "aux_twin": True})
              for p in (True, False)}
    images = models[False].to_model_space(shapes_batch["image"])
    labels = shapes_batch["label"]
    other = (labels + 1) % shapes[1].num_classes
    scores = {p: [m.discriminator([images, y])[0].numpy() for y in (labels, other)] for p, m in models.items()}
    np.testing.assert_array_equal(scores[False][0], scores[False][1])
    assert np.abs(scores[True][0] - scores[True][1]).max() > 1e-4
    names = {p: [layer.name for layer in m.discriminator.layers] for p, m in models.items()}
    assert "class_projection" in names[True] and "class_projection" not in names[False]
    # The two discriminators differ by the projection's embedding only.
    assert len(models[True].discriminator.weights) == len(models[False].discriminator.weights) + 1
    assert ConditionalGAN.from_config(models[False].get_config()).projection is False
    assert np.isfinite(float(models[False].train_step(shapes_batch)["d_loss"]))
    with pytest.raises(UserError, match="projection=false needs the class head"):
        ConditionalGAN(shapes[1], projection=False, aux_weight=0.0)
    with pytest.raises(UserError, match="projection must be true or false"):
        ConditionalGAN(shapes[1], projection="no")


def test_user_errors_name_the_culprit(shapes):
    with pytest.raises(UserError, match="hinges"):
        DCGAN(shapes[1], loss="hinges")
    with pytest.raises(UserError, match="labelled"):
        ConditionalGAN(DatasetSpec("x", 8, 8, "rgb", channels=3))
    with pytest.raises(UserError, match="ema_decay"):
        GAN(shapes[1], ema_decay=1.0)
    with pytest.raises(UserError, match="aux_weight"):
        DCGAN(shapes[1], aux_weight=1.0)  # no labels to classify
    with pytest.raises(UserError, match="d_steps"):
        registry.build("gan", shapes[1], d_steps=0)


def test_wgan_gp_critic_uses_layer_norm(shapes):
    kinds = {type(layer).__name__ for layer in DCGAN(shapes[1], filters=4, loss="wgan_gp").discriminator.layers}
    assert "LayerNormalization" in kinds and "BatchNormalization" not in kinds


# === Serving ===
def test_serving_signatures_sample_generate_and_check_inputs(shapes):
    model = ConditionalGAN(shapes[1], latent_dim=8, filters=4)
    functions = serving.signatures(model, max_num_samples=8)
    assert list(functions) == ["sample", "generate"]
    out = functions["sample"](tf.constant(3), tf.constant(7, tf.int64), tf.constant([0, 1, 2]))
    assert out["images"].shape == (3, 20, 20, 3) and out["images"].dtype == tf.uint8
    np.testing.assert_array_equal(out["indices"].numpy(), model.sample(3, 7, labels=[0, 1, 2]).numpy())
    z = model.sample_codes(2, 1)
    assert functions["generate"](z, tf.constant([1, 1]))["indices"].shape == (2, 20, 20)
    with pytest.raises(tf.errors.InvalidArgumentError, match="cap of 8"):
        functions["sample"](tf.constant(9), tf.constant(7, tf.int64), tf.zeros([9], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must lie in \[0, 4\)"):
        functions["generate"](z, tf.constant([1, 4]))


# === Saving and resuming ===
@pytest.mark.parametrize("cls", [GAN, DCGAN, ConditionalGAN])
def test_config_and_keras_file_round_trip(cls, shapes, tmp_path):
    extra = {"aux_weight": 0.5} if issubclass(cls, Conditional) else {}
    model = cls(shapes[1], latent_dim=8, filters=4, hidden=16, loss="hinge", d_steps=2, ema_decay=0.9, seed=3, **extra)
    config = model.get_config()
    assert cls.from_config(config).get_config() == config
    path = str(tmp_path / "gan.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls and loaded.get_config() == config
    np.testing.assert_array_equal(loaded.sample(4, seed=2).numpy(), model.sample(4, seed=2).numpy())


def _train(model_dir, epochs):
    keras.utils.set_random_seed(0)  # the same initial weights for each run
    config = TrainConfig(model="gan", dataset="shapes", model_dir=str(model_dir), epochs=epochs, batch_size=512,
                         learning_rate=1e-3, checkpoint_every=5, num_samples=4,
                         hparams={"latent_dim": 8, "hidden": 16, "ema_decay": 0.9})
    return train(config, verbose=0)


@pytest.mark.parametrize("recipe", [
    {"loss": "hinge", "augment": "color,translation,cutout", "spectral_norm": True, "r1_gamma": 1.0,
     "recon_weight": 1.0, "lecam_weight": 0.3},
    {"regions": 3, "region_gain_end": 6.0, "region_anneal_steps": 5, "patch_weight": 1.0, "accents": 2},
    {"ada_target": 0.6, "ada_interval": 1, "ada_images": 32, "ada_p_start": 0.5},
    {"regions": 3, "region_background": True, "silhouette_weight": 1.0,
     "silhouette_augment": "xflip,translation,cutout"},
], ids=["data_efficient", "annealed_regions_patch", "ada", "silhouette"])
def test_data_efficient_step_resumes_exactly_from_a_checkpoint(shapes_batch, shapes, tmp_path, recipe):
    """DiffAugment's draws (seeded by the restored step counter), spectral norm's u, R1, the
    self-supervised decoder, LeCam's averages, the annealed region gain (with the accents), the patch discriminator, ADA's p and sums and the silhouette
    discriminator with its optimizer: a model restored from a checkpoint takes the same next step as the one that wrote it."""
    first = _small(DCGAN, shapes[1], **recipe)
    step = tf.function(first.train_step)
    step(shapes_batch)
    path = tf.train.Checkpoint(**first.checkpoint_objects()).save(str(tmp_path / "ckpt"))
    step(shapes_batch)
    keras.utils.set_random_seed(99)  # other initial weights, overwritten by the restore
    second = _small(DCGAN, shapes[1], **recipe)
    tf.train.Checkpoint(**second.checkpoint_objects()).restore(path).assert_existing_objects_matched()
    assert int(second.g_optimizer.iterations) == 1
    tf.function(second.train_step)(shapes_batch)
    for a, b in zip(first.weights, second.weights):  # both networks, u vectors and the moving average
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_training_resumes_exactly_with_both_optimizers(tmp_path):
    straight, _ = _train(tmp_path / "straight", 2)
    _train(tmp_path / "resumed", 1)
    resumed, history = _train(tmp_path / "resumed", 2)
    assert [row["epoch"] for row in history] == [1, 2]
    steps = history[-1]["step"]
    assert int(resumed.g_optimizer.iterations) == steps == int(resumed.d_optimizer.iterations)
    for a, b in zip(straight.weights, resumed.weights):  # both networks and the moving average
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    for key in ("d_loss", "g_loss", "d_real_accuracy", "test_d_loss", "test_g_loss", "g_grad_norm"):
        assert key in history[-1]
    assert "test_g_grad_norm" not in history[-1]  # training-only: the held-out pass does not report a 0
    from genzoo.training import runs

    restored, _ = runs.load_model(str(tmp_path / "resumed"))
    np.testing.assert_array_equal(restored.sample(4, seed=0).numpy(), resumed.sample(4, seed=0).numpy())


# === Experiments ===
RADIUS, SIGMA = 2.0, 0.1  # the lecture's toy: 8 Gaussians on a circle
CENTRES = np.array([[RADIUS * math.cos(math.pi * k / 4), RADIUS * math.sin(math.pi * k / 4)] for k in range(8)])


class PointGAN(GAN):
    """The MLP GAN's game on raw 2-D points: a linear output instead of tanh.

    Points are not pixels in [-1, 1]; a tanh output saturates when the critic pushes
    samples towards the edge of the box, and they stay stuck in its corners.
    """

    def build_generator(self, name):
        z = keras.Input((self.latent_dim,))
        x = keras.layers.Dense(self.hidden, activation="relu")(z)
        x = keras.layers.Dense(self.hidden, activation="relu")(x)
        return keras.Model(z, keras.layers.Reshape(self.image_shape)(keras.layers.Dense(2)(x)), name=name)

    def to_model_space(self, images):
        return images

    def from_model_space(self, x):
        return x


def _train_ring(steps: int, **hparams) -> np.ndarray:
    """Trains a PointGAN (2 x 128 ReLU units each side) at batch 256; returns 2000 samples."""
    spec = DatasetSpec("ring", 1, 2, "rgb", channels=1)  # a point is a 1 x 2 one-channel "image"
    model = PointGAN(spec, latent_dim=8, hidden=128, ema_decay=0.99, beta_2=0.9, seed=0, **hparams)
    model.compile_for_training(1e-3)
    centres = tf.constant(CENTRES, tf.float32)

    @tf.function
    def train_100_steps(start):
        for i in tf.range(start, start + 100):
            mode = tf.random.stateless_uniform([256], [1, i], 0, 8, tf.int32)
            points = tf.gather(centres, mode) + SIGMA * tf.random.stateless_normal([256, 2], [2, i])
            model.train_step({"image": tf.reshape(points, [256, 1, 2, 1]), "label": tf.fill([256], -1)})

    for start in range(0, steps, 100):
        train_100_steps(tf.constant(start, tf.int64))
    return model.sample(2000, seed=7).numpy().reshape(-1, 2)


def _coverage(points):
    """(modes holding at least 2% of the samples within 3 sigma, fraction of samples within 3 sigma of a mode)."""
    distance = np.linalg.norm(points[:, None] - CENTRES[None], axis=-1)
    near = distance.min(axis=1) < 3 * SIGMA
    counts = np.bincount(distance.argmin(axis=1)[near], minlength=8)
    return int((counts >= 0.02 * len(points)).sum()), float(near.mean())


def test_non_saturating_gan_covers_the_eight_gaussians():
    modes, near = _coverage(_train_ring(1500, loss="non_saturating"))
    # Seen: 8 modes, 85% near after 1500 steps (93% after 2000).
    assert modes >= 6 and near > 0.5, (modes, near)


def test_wgan_gp_covers_the_eight_gaussians():
    # lambda = 1: Gulrajani et al.'s toy code uses 0.1 ("smaller lambda seems to help for
    # toy tasks"); with the paper's 10 the generator had not formed the ring after 2000 steps.
    modes, near = _coverage(_train_ring(1000, loss="wgan_gp", gp_weight=1.0, d_steps=3))
    # Seen: 8 modes, 75% near after 1000 steps (87% after 1500).
    assert modes >= 6 and near > 0.5, (modes, near)
