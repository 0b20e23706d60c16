import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.losses import free_bits_kl, kl_divergence, kl_per_dimension
from genzoo.models import VAE, ConditionalVAE, likelihoods, registry


def _numeric_kl(mean, var):
    """KL(N(mean, var) || N(0, 1)) by integrating on a grid: independent of the closed form."""
    x = np.linspace(-30, 30, 200001)
    q = np.exp(-0.5 * (x - mean) ** 2 / var) / np.sqrt(2 * np.pi * var)
    log_ratio = -0.5 * (x - mean) ** 2 / var - 0.5 * np.log(var) + 0.5 * x**2
    return np.trapezoid(q * log_ratio, x)


def test_kl_matches_numeric_integration():
    rng = np.random.RandomState(0)
    mean, log_var = rng.randn(3, 4), rng.uniform(-2, 1.5, (3, 4))
    got = kl_divergence(tf.constant(mean), tf.constant(log_var)).numpy()
    expected = [sum(_numeric_kl(m, math.exp(lv)) for m, lv in zip(ms, lvs)) for ms, lvs in zip(mean, log_var)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.fixture(scope="module")
def shapes():
    train, spec = data.load("shapes", "train")
    test, _ = data.load("shapes", "test")
    return train, test, spec


def _small(spec, cls=VAE, **kw):
    kw.setdefault("pixel_layers", 0)  # the plain decoder, whatever the default (the PixelVAE's tests are below)
    model = cls(spec, latent_dim=8, filters=8, hidden=64, seed=1, **kw)
    model.compile_for_training(2e-3)
    return model


def test_elbo_is_below_importance_weighted_bound_which_tightens(shapes):
    train, _, spec = shapes
    model = _small(spec)
    model.fit(train.take(512).batch(64), epochs=1, verbose=0)
    batch = next(iter(train.batch(16)))
    elbo = tf.reduce_mean([model.importance_weighted_bound(batch["image"], num_samples=1, seed=s) for s in range(20)], 0)
    iw = [model.importance_weighted_bound(batch["image"], num_samples=k, seed=3).numpy() for k in (1, 8, 64)]
    # Averaged single-sample bounds are the ELBO; more samples give a larger (tighter) bound.
    assert np.all(iw[2] >= elbo.numpy() - 0.5)
    assert np.mean(iw[2]) > np.mean(iw[1]) > np.mean(elbo.numpy()) - 0.5


def test_elbo_is_below_exact_log_likelihood_of_tiny_binary_model():
    # 1x2 binary images: p(x) = E_z p(x|z) is computable by brute force over a z grid.
    spec = data.DatasetSpec("tiny", 1, 2, "binary")
    keras.utils.set_random_seed(0)  # the same weights whatever ran before in this process
    model = VAE(spec, latent_dim=1, filters=2, hidden=4, pixel_layers=0, seed=0)
    model.compile_for_training(1e-3)
    images = tf.constant([[[[1.0], [0.0]]], [[[1.0], [1.0]]]])
    z = np.linspace(-8, 8, 4001, dtype=np.float32)[:, None]
    params = model.decoder_params(tf.constant(z))
    for i in range(2):
        log_px_z = model.likelihood.log_prob(params, tf.repeat(images[i:i + 1], len(z), 0)).numpy()
        prior = np.exp(-0.5 * z[:, 0] ** 2) / math.sqrt(2 * math.pi)
        exact = math.log(np.trapezoid(np.exp(log_px_z) * prior, z[:, 0]))
        # 2000 single-sample bounds (one per row, independent noise) estimate the ELBO; the
        # posterior can be nearly exact, so allow the Monte-Carlo error: 3 standard errors.
        elbos = model.importance_weighted_bound(tf.repeat(images[i:i + 1], 2000, 0), num_samples=1, seed=7).numpy()
        assert len(set(elbos.tolist())) > 1000  # independent draws, not one repeated
        assert np.mean(elbos) <= exact + 3 * np.std(elbos) / math.sqrt(len(elbos))
        assert float(model.importance_weighted_bound(images[i:i + 1], num_samples=2000, seed=1)[0]) == pytest.approx(exact, abs=0.05)


def test_bound_is_finite_and_unbiased_for_a_very_narrow_posterior():
    # log_var = -170, as a cvae on pokemon40 learned: z - mean rounds to 0 and exp(-log_var)
    # to inf, which made every bound NaN. With z = mean exactly, the single-sample bound's
    # expectation is the ELBO in closed form: log p(x | mean) - KL(q || p).
    spec = data.DatasetSpec("tiny", 1, 2, "binary")
    model = VAE(spec, latent_dim=2, filters=2, hidden=4, pixel_layers=0, seed=0)
    mean, log_var = tf.constant([[0.3, -1.2]]), tf.constant([[-170.0, -170.0]])
    model.encode = lambda images, labels=None: (tf.repeat(mean, tf.shape(images)[0], 0),
                                                tf.repeat(log_var, tf.shape(images)[0], 0))
    images = tf.repeat(tf.constant([[[[1.0], [0.0]]]]), 4000, 0)
    bounds = model.importance_weighted_bound(images, num_samples=1, seed=3).numpy()
    assert np.all(np.isfinite(bounds))
    elbo = float(model.likelihood.log_prob(model.decoder_params(mean), images[:1])[0] - kl_divergence(mean, log_var)[0])
    # bound - ELBO is (chi^2_2 - 2) / 2 here: standard deviation 1 per draw.
    assert np.mean(bounds) == pytest.approx(elbo, abs=4 / math.sqrt(len(bounds)))
    assert np.std(bounds) == pytest.approx(1.0, rel=0.1)


def test_short_training_lowers_held_out_loss(shapes):
    train, test, spec = shapes
    model = _small(spec)
    before = model.evaluate(test.batch(128), verbose=0, return_dict=True)["loss"]
    callbacks = [keras.callbacks.TerminateOnNaN(), keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)]
    history = model.fit(train.shuffle(4096, seed=0).batch(64), epochs=1, verbose=0,
                        validation_data=test.batch(128), callbacks=callbacks)
    assert {"loss", "elbo", "val_loss", "val_elbo", "val_bits_per_dim"} <= set(history.history)
    after = model.evaluate(test.batch(128), verbose=0, return_dict=True)
    assert after["loss"] < 0.5 * before
    np.testing.assert_allclose(after["bits_per_dim"], -after["elbo"] / (400 * math.log(2)), rtol=1e-4)


def test_save_load_round_trip_gives_identical_outputs(shapes, tmp_path):
    train, _, spec = shapes
    model = _small(spec, ConditionalVAE)
    model.fit(train.take(128).batch(64), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    batch = next(iter(train.batch(8)))
    np.testing.assert_array_equal(model(batch).numpy(), loaded(batch).numpy())
    np.testing.assert_array_equal(model.sample(6, seed=4).numpy(), loaded.sample(6, seed=4).numpy())
    assert loaded.get_config() == model.get_config()


def test_sampling_is_seeded(shapes):
    _, _, spec = shapes
    model = _small(spec)
    a, b, c = model.sample(5, 1), model.sample(5, 1), model.sample(5, 2, pixel_noise=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == (5, 20, 20) and c.shape == (5, 20, 20)


def test_rgb_and_binary_encodings_train(shapes):
    for encoding in ("rgb", "binary"):
        ds, spec = data.load("shapes", "train", encoding=encoding)
        keras.utils.set_random_seed(0)  # the same weights whatever ran before in this process
        # No KL warm-up: a rising KL weight could raise the loss while the model improves.
        model = _small(spec, kl_warmup_steps=0)
        history = model.fit(ds.take(256).batch(64), epochs=2, verbose=0).history["loss"]
        assert np.isfinite(history).all() and history[-1] < history[0]


def test_conditional_vae_needs_labels_and_bad_hparams_fail():
    unlabelled = data.DatasetSpec("u", 8, 8, "binary")
    with pytest.raises(UserError, match="needs a labelled dataset"):
        ConditionalVAE(unlabelled)
    with pytest.raises(UserError, match="latent_dim must be positive"):
        VAE(unlabelled, latent_dim=0)
    with pytest.raises(UserError, match="model 'vae' has no hyper-parameter 'depth'; it takes latent_dim"):
        registry.build("vae", unlabelled, depth=3)


# === Free bits, bounded log-variance, temperature, PixelVAE, logistic mixture ===

def test_kl_per_dimension_sums_to_kl_and_free_bits_clamp_each_dimension():
    mean, log_var = tf.constant([[0.0, 1.0, 0.1]]), tf.constant([[0.0, 0.0, -0.1]])
    per_dim = kl_per_dimension(mean, log_var).numpy()
    np.testing.assert_allclose(per_dim[0, :2], [0.0, 0.5], atol=1e-7)  # 1/2 mean^2 at unit variance
    np.testing.assert_allclose(per_dim.sum(-1), kl_divergence(mean, log_var).numpy(), rtol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(mean)
        charged = free_bits_kl(kl_per_dimension(mean, log_var), 0.25)
    # max(0.25, 0) + max(0.25, 0.5) + max(0.25, KL_3 ~ 0.0099): the clamped dimensions get no gradient.
    np.testing.assert_allclose(charged.numpy(), [0.25 + 0.5 + 0.25], rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(charged, mean).numpy(), [[0.0, 1.0, 0.0]], atol=1e-7)
    np.testing.assert_allclose(free_bits_kl(per_dim, 0.0).numpy(), per_dim.sum(-1))


def test_plain_vae_temperature_zero_is_the_mode_and_one_the_softmax():
    spec = data.DatasetSpec("tiny", 4, 4, "palette", palette=((0, 0, 0), (255, 255, 255), (255, 0, 0)))
    model = VAE(spec, latent_dim=2, filters=2, hidden=4, pixel_layers=0, seed=0)
    z = model.sample_codes(3, seed=7)
    np.testing.assert_array_equal(model.sample(3, seed=7, temperature=0.0).numpy(),
                                  model.likelihood.mode(model.decoder_params(z)).numpy())
    # The tempered categorical draws softmax(logits / T): frequencies over 20000 draws of one pixel.
    logits = tf.constant([[1.0, 0.0, -1.0]])
    for temperature in (1.0, 0.5):
        draws = model.likelihood.sample_tempered(tf.repeat(logits, 20000, 0), tf.constant([1, 2], tf.int64),
                                                 temperature).numpy()
        np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000,
                                   tf.nn.softmax(logits[0] / temperature).numpy(), atol=0.015)
    assert len(np.unique(model.sample(64, seed=1).numpy())) > 1  # drawn, not the mode of an untrained net


def test_bounded_log_variance_keeps_an_rgb_cvae_finite_at_the_default_learning_rate():
    # Unbounded, the cvae's log-variance jumped from 1 to 19 in one Adam step at 2e-3 on
    # pokemon40 (KL 2e7 nats) and went on to -249; bounded, every metric stays finite.
    spec = data.DatasetSpec("tiny_rgb", 8, 8, "rgb", channels=3, num_classes=2)
    keras.utils.set_random_seed(0)
    model = ConditionalVAE(spec, latent_dim=4, filters=8, hidden=16, log_var_bound=8.0, mixture=2, seed=0)
    model.compile_for_training(model.default_learning_rate)
    rng = np.random.RandomState(0)
    images = tf.constant(rng.randint(0, 2, (16, 8, 8, 3)).astype(np.float32))  # extreme values: 0 and 1 only
    batch = {"image": images, "label": tf.constant(np.arange(16) % 2, tf.int32)}
    for _ in range(15):
        metrics = model.train_step(batch)
        assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
    model.encoder.layers[-1].kernel.assign(model.encoder.layers[-1].kernel * 1e4)  # a runaway encoder
    _, log_var = model.encode(images, batch["label"])
    assert np.all(np.abs(log_var.numpy()) <= 8.0)
    assert np.all(np.isfinite(model.elbo(images, batch["label"]).numpy()))


def test_logistic_mixture_is_normalised_and_reduces_to_one_logistic():
    grey = likelihoods.DiscretizedLogisticMixture(1, 3)
    params = tf.constant(np.random.RandomState(0).randn(1, 1, 1, grey.num_params).astype(np.float32))
    values = tf.reshape(tf.range(256, dtype=tf.float32) / 255.0, [256, 1, 1, 1])
    total = tf.reduce_sum(tf.exp(grey.log_prob(tf.repeat(params, 256, 0), values))).numpy()
    assert total == pytest.approx(1.0, abs=1e-4)
    # One component with zero coupling (tanh(0) = 0) is the per-channel logistic.
    rgb = likelihoods.DiscretizedLogisticMixture(3, 1)
    means, log_scales = np.float32([[0.2, -0.5, 0.9]]), np.float32([[-2.0, -1.0, -3.0]])
    mixture_params = np.concatenate([[[5.0]], means, log_scales, np.zeros((1, 3))], -1).astype(np.float32)
    image = tf.constant([[[[0.6, 0.2, 1.0]]]])
    np.testing.assert_allclose(
        rgb.log_prob(tf.constant(mixture_params.reshape(1, 1, 1, -1)), image).numpy(),
        likelihoods.DiscretizedLogistic(3).log_prob(tf.constant(np.concatenate([means, log_scales], -1)
                                                                .reshape(1, 1, 1, -1)), image).numpy(), rtol=1e-5)
    one = tf.constant(mixture_params.reshape(1, 1, 1, -1))
    coldest = rgb.sample_tempered(one, tf.constant([1, 2], tf.int64), 0.0).numpy()
    np.testing.assert_array_equal(coldest, rgb.mode(one).numpy())
    np.testing.assert_allclose(coldest.reshape(3), np.round((np.clip(means[0], -1, 1) + 1) * 127.5) / 255)


@pytest.fixture(scope="module")
def pixel_vae():
    spec = data.DatasetSpec("tiny", 8, 6, "palette", palette=((0, 0, 0), (255, 255, 255), (255, 0, 0), (0, 0, 255)))
    keras.utils.set_random_seed(0)
    model = VAE(spec, latent_dim=3, filters=4, hidden=8, pixel_layers=3, pixel_filters=8, seed=0)
    return model


def test_pixel_vae_decoder_is_causal_and_its_sampling_crop_exact(pixel_vae):
    model = pixel_vae
    rng = np.random.RandomState(1)
    images = tf.constant(rng.randint(0, 4, (2, 8, 6)), tf.int32)
    z = tf.constant(rng.randn(2, 3), tf.float32)
    base = model.decoder_params(z, images=images).numpy().reshape(2, 48, -1)
    for t in (0, 13, 47):
        changed = images.numpy().reshape(2, 48).copy()
        changed[:, t] = (changed[:, t] + 1) % 4
        after = model.decoder_params(z, images=tf.constant(changed.reshape(2, 8, 6))).numpy().reshape(2, 48, -1)
        np.testing.assert_array_equal(after[:, :t + 1], base[:, :t + 1])  # pixels up to t never see x_t
        if t < 47:
            assert np.abs(after[:, t + 1:] - base[:, t + 1:]).max() > 0  # later ones do
    features = model.decoder(z)
    for row, col in ((0, 0), (3, 2), (7, 5)):
        cropped = model.pixel_params_at(images, features, tf.constant(row), tf.constant(col)).numpy()
        np.testing.assert_allclose(cropped.reshape(2, -1), base[:, row * 6 + col], rtol=1e-5, atol=1e-5)


def test_pixel_vae_samples_are_seeded_tempered_and_its_bound_holds(pixel_vae):
    model = pixel_vae
    a, b, c = (model.sample(4, seed=s).numpy() for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 8, 6) and not np.array_equal(a, c)
    # Temperature 0: greedy decoding, each pixel the argmax given the pixels drawn before it.
    greedy = model.sample(4, seed=3, temperature=0.0)  # 4 images throughout: one traced loop
    logits = model.decoder_params(model.sample_codes(4, seed=3), images=greedy)
    np.testing.assert_array_equal(greedy.numpy(), tf.argmax(logits, -1, output_type=tf.int32).numpy())
    # decode is a fixed-noise draw: the same z gives the same image.
    z = model.sample_codes(4, seed=1)
    np.testing.assert_array_equal(model.decode(z).numpy(), model.decode(z).numpy())
    images = tf.constant(np.random.RandomState(2).randint(0, 4, (2, 8, 6)), tf.int32)
    assert np.all(model.importance_weighted_bound(images, num_samples=8).numpy() <= 0)


@pytest.mark.parametrize("encoding", ["palette", "binary"])
def test_pixel_vae_cached_sampler_equals_the_reference_sampler(encoding):
    # The cached loop (one position per masked layer and step) draws the same images as the
    # masked stack re-run per pixel, for every temperature, with labels, at other batch sizes.
    palette = ((0, 0, 0), (255, 255, 255), (255, 0, 0), (0, 0, 255))
    spec = data.DatasetSpec("tiny", 7, 5, encoding, palette=palette if encoding == "palette" else None,
                            num_classes=3, class_names=("a", "b", "c"))
    keras.utils.set_random_seed(1)
    model = ConditionalVAE(spec, latent_dim=3, filters=4, hidden=8, pixel_layers=3, pixel_filters=6, seed=0)
    # Larger weights than the initial ones, so the draws depend on the earlier pixels.
    for weight in model.pixel_decoder.weights:
        weight.assign(weight * 3.0)
    labels = tf.constant([0, 2, 1, 1, 0])
    for temperature in (1.0, 0.6, 0.0):
        cached = model.sample(5, seed=4, labels=labels, temperature=temperature).numpy()
        reference = model.naive_sample(5, seed=4, labels=labels, temperature=temperature).numpy()
        np.testing.assert_array_equal(cached, reference, err_msg=f"T={temperature}")
        assert len(np.unique(cached)) > 1
    np.testing.assert_array_equal(model.sample(2, seed=9, labels=[1, 2]).numpy(),
                                  model.naive_sample(2, seed=9, labels=[1, 2]).numpy())
    with pytest.raises(UserError, match="naive_sample is for the PixelVAE"):
        ConditionalVAE(spec, latent_dim=2, filters=2, hidden=4, pixel_layers=0).naive_sample(1, seed=0)


def test_exported_pixel_vae_samples_the_models_images(pixel_vae, tmp_path):
    # The cached loop (XLA) inside a SavedModel: the serving signature draws the model's images.
    from genzoo import serving

    path = serving.export(pixel_vae, str(tmp_path / "export"), max_num_samples=8)
    loaded = tf.saved_model.load(path)
    out = loaded.signatures["sample"](num_samples=tf.constant(3), seed=tf.constant(7, tf.int64),
                                      temperature=tf.constant(1.0))
    np.testing.assert_array_equal(out["indices"].numpy(), pixel_vae.sample(3, seed=7).numpy())


def test_pixel_vae_config_round_trips_and_rgb_is_refused(pixel_vae, tmp_path):
    config = pixel_vae.get_config()
    assert config["pixel_layers"] == 3 and VAE.from_config(config).get_config() == config
    pixel_vae.save(tmp_path / "p.keras")
    loaded = keras.models.load_model(tmp_path / "p.keras")
    np.testing.assert_array_equal(loaded.sample(2, seed=5).numpy(), pixel_vae.sample(2, seed=5).numpy())
    # Defaults by data and class; a config from before these options rebuilds the old network.
    tiny = {"latent_dim": 2, "filters": 2, "hidden": 4, "pixel_filters": 2}
    default = VAE(pixel_vae.spec, **tiny)
    assert (default.pixel_layers, default.free_bits) == (4, 0.5)  # the PixelVAE, with free bits
    assert VAE(pixel_vae.spec, pixel_layers=0, **tiny).free_bits == 0.0
    labelled = data.DatasetSpec("l", 8, 8, "binary", num_classes=2, class_names=("a", "b"))
    cvae = ConditionalVAE(labelled, **tiny)
    # The cvae too, and it draws z from its fitted code mixture; the vae from its prior.
    assert (cvae.pixel_layers, cvae.free_bits, cvae.code_mixture, default.code_mixture) == (4, 0.5, 10, 0)
    rgb = VAE(data.DatasetSpec("c", 8, 8, "rgb", channels=3), **tiny)
    assert (rgb.pixel_layers, rgb.mixture, rgb.log_var_bound) == (0, 5, 8.0)
    legacy = VAE.from_config({k: v for k, v in rgb.get_config().items()
                              if k not in ("log_var_bound", "mixture", "pixel_layers", "pixel_filters", "blocks")})
    assert (legacy.mixture, legacy.log_var_bound, legacy.pixel_layers) == (0, 0.0, 0)
    with pytest.raises(UserError, match="pixel_layers .* takes palette or binary"):
        VAE(data.DatasetSpec("c", 8, 8, "rgb", channels=3), pixel_layers=2)
    with pytest.raises(UserError, match="mixture .* is for rgb"):
        VAE(pixel_vae.spec, mixture=3)
    with pytest.raises(UserError, match="dropout must lie in"):
        VAE(pixel_vae.spec, dropout=1.0)


def test_pixel_vae_uses_its_code_after_training(shapes):
    # The KL stays above zero and interpolations change the image: the PixelVAE's masked
    # layers see only a few rows, so the shape must come from z.
    train, _, spec = shapes
    keras.utils.set_random_seed(0)
    model = VAE(spec, latent_dim=4, filters=8, hidden=32, pixel_layers=2, pixel_filters=8,
                kl_warmup_steps=50, seed=0)
    model.compile_for_training(2e-3)
    history = model.fit(train.take(1024).batch(64), epochs=1, verbose=0).history
    assert history["kl"][-1] > 0.1  # 0.003 nats at initialisation
    rows = model.interpolation_grid(2, 4, seed=0).numpy().reshape(2, 4, -1)
    assert all(not np.array_equal(row[0], row[-1]) for row in rows)
