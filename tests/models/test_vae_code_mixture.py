"""The VAE's code mixture: the EM fit against closed forms, drawing z from it, fitting it in
training (the best checkpoint holds its weights' fit), export, config and errors."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo import serving as export
from genzoo.errors import UserError
from genzoo.models import VAE, ConditionalVAE
from genzoo.models.vae import code_mixture
from genzoo.training import TrainConfig, train
from genzoo.training.runs import load_model


# === The fit ===
def test_one_component_is_the_moment_matched_gaussian_of_the_codes():
    rng = np.random.RandomState(0)
    means = rng.randn(50, 3) * [1, 2, 3] + [1, -1, 0]
    log_w, mu, log_var = code_mixture.fit(means, components=1)
    np.testing.assert_allclose(log_w, [0.0], atol=1e-12)
    np.testing.assert_allclose(mu[0], means.mean(0), rtol=1e-10)
    np.testing.assert_allclose(np.exp(log_var[0]), means.var(0), rtol=1e-10)


def test_two_separated_clusters_are_recovered():
    rng = np.random.RandomState(1)
    means = np.concatenate([rng.randn(60, 2) * 0.1 + [5, 0], rng.randn(140, 2) * 0.1 + [-5, 2]])
    log_w, mu, log_var = code_mixture.fit(means, components=2, seed=3)
    order = np.argsort(mu[:, 0])
    np.testing.assert_allclose(np.exp(log_w[order]), [0.7, 0.3], atol=1e-6)
    np.testing.assert_allclose(mu[order], [means[60:].mean(0), means[:60].mean(0)], atol=1e-6)
    np.testing.assert_allclose(np.exp(log_var[order]), [means[60:].var(0), means[:60].var(0)], rtol=1e-5)
    again = code_mixture.fit(means, components=2, seed=3)
    for a, b in zip(again, (log_w, mu, log_var)):
        np.testing.assert_array_equal(a, b)


def test_few_images_get_few_components():
    assert code_mixture.components_for(5, 10) == 1
    assert code_mixture.components_for(3 * code_mixture.IMAGES_PER_COMPONENT, 10) == 3
    assert code_mixture.components_for(10_000, 10) == 10
    log_w, mu, _ = code_mixture.fit(np.random.RandomState(0).randn(45, 4), components=10)
    assert log_w.shape == (2,) and mu.shape == (2, 4)


# === In the model ===
@pytest.fixture(scope="module")
def shapes():
    return data.load("shapes", "train")


def _cvae(spec, **kw):
    return ConditionalVAE(spec, latent_dim=3, filters=4, hidden=16, pixel_layers=0, seed=1,
                          **{"code_mixture": 2, **kw})


def _set_mixture(model, log_weights, means, log_vars):
    for variable, value in zip((model.code_log_weights, model.code_means, model.code_log_vars),
                               (log_weights, means, log_vars)):
        variable.assign(np.asarray(value, np.float32))
    model.code_fitted.assign(1.0)


def test_codes_come_from_the_prior_until_fitted_then_from_the_class_mixture(shapes):
    _, spec = shapes
    model = _cvae(spec)
    plain = _cvae(spec, code_mixture=0)
    labels = np.array([0, 1, 2, 3] * 250, np.int32)
    np.testing.assert_array_equal(model.sample_codes(1000, 4, labels).numpy(),
                                  plain.sample_codes(1000, 4, labels).numpy())
    # Class c: components at +-(c + 1) * 3 with weights 1/4 and 3/4, scale 0.5.
    centres = np.array([[[c * 3 + 3.0] * 3, [-c * 3 - 3.0] * 3] for c in range(4)])
    _set_mixture(model, np.log([[0.25, 0.75]] * 4), centres, np.full((4, 2, 3), np.log(0.25)))
    codes = model.sample_codes(1000, 4, labels).numpy()
    eps = tf.random.stateless_normal([1000, 3], [4, 0]).numpy()
    first = codes[:, 0] > 0
    # The component is drawn per code, the noise is the prior's (the same seed, the same eps).
    np.testing.assert_allclose(codes, centres[labels, np.where(first, 0, 1)] + 0.5 * eps, rtol=1e-5, atol=1e-5)
    assert 0.2 < first.mean() < 0.3
    # The sample decodes those codes; the codes and samples repeat with the seed.
    np.testing.assert_array_equal(model.sample(8, 4, labels[:8], temperature=0.0).numpy(),
                                  model.decode(model.sample_codes(8, 4, labels[:8]), labels[:8]).numpy())
    np.testing.assert_array_equal(model.sample_codes(1000, 4, labels).numpy(), codes)


def test_fit_code_mixture_fits_each_class_to_its_encoded_images(shapes):
    train_ds, spec = shapes
    model = _cvae(spec)
    ds = train_ds.take(300).filter(lambda ex: ex["label"] != 3)  # class 3 has no image
    model.fit_code_mixture(ds)
    assert float(model.code_fitted.numpy()) == 1.0
    batch = next(iter(ds.batch(1000)))
    mean = model.encode(batch["image"], batch["label"])[0].numpy()
    for c in range(3):
        chosen = batch["label"].numpy() == c
        want = code_mixture.fit(mean[chosen], 2, seed=c)
        used = len(want[0])
        np.testing.assert_allclose(model.code_log_weights.numpy()[c, :used], want[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.code_means.numpy()[c, :used], want[1], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(model.code_log_vars.numpy()[c, :used], want[2], rtol=1e-4, atol=1e-5)
        assert (model.code_log_weights.numpy()[c, used:] < -1e8).all()  # never drawn
    # A class without images draws from its prior, N(0, I) here.
    np.testing.assert_array_equal(model.code_means.numpy()[3, 0], np.zeros(3))
    np.testing.assert_array_equal(model.code_log_vars.numpy()[3, 0], np.zeros(3))
    assert model.code_log_weights.numpy()[3, 0] == 0 and (model.code_log_weights.numpy()[3, 1:] < -1e8).all()


def test_the_vae_fits_one_group_and_the_best_checkpoint_holds_the_fit_of_its_weights(tmp_path, small_npz_dataset):
    hparams = {"latent_dim": 3, "filters": 4, "hidden": 16, "pixel_layers": 0, "code_mixture": 3}
    run = tmp_path / "run"
    model, _ = train(TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(run), epochs=1,
                                 batch_size=30, num_samples=4, hparams=hparams), verbose=0)
    assert model.code_means.shape == (1, 3, 3)
    loaded, _ = load_model(str(run), "best")
    stored = [v.numpy() for v in (loaded.code_log_weights, loaded.code_means, loaded.code_log_vars)]
    assert float(loaded.code_fitted.numpy()) == 1.0
    loaded.fit_code_mixture(data.load(small_npz_dataset, "train")[0])  # the loop's fit, redone on these weights
    for before, variable in zip(stored, (loaded.code_log_weights, loaded.code_means, loaded.code_log_vars)):
        np.testing.assert_allclose(variable.numpy(), before, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded.sample(4, 2).numpy(), model.sample(4, 2).numpy())


def test_the_export_samples_from_the_fitted_mixture(shapes, tmp_path):
    _, spec = shapes
    model = _cvae(spec)
    _set_mixture(model, np.zeros((4, 2)), np.full((4, 2, 3), 4.0), np.zeros((4, 2, 3)))
    path = export.export(model, str(tmp_path / "export"), max_num_samples=8)
    served = tf.saved_model.load(path).signatures["sample"]
    labels = [0, 1, 2, 3, 0, 1]
    out = served(num_samples=tf.constant(6), seed=tf.constant(9, tf.int64), temperature=tf.constant(1.0),
                 labels=tf.constant(labels, tf.int32))
    want = model.sample(6, 9, labels).numpy()
    np.testing.assert_array_equal(out["indices"].numpy(), want)
    # The mixture's codes differ from the prior's: the export did not fall back to the prior.
    model.code_fitted.assign(0.0)
    assert not np.array_equal(model.sample(6, 9, labels).numpy(), want)


def test_config_round_trip_old_configs_and_errors(shapes):
    _, spec = shapes
    model = _cvae(spec, code_mixture=4)
    assert model.get_config()["code_mixture"] == 4
    assert ConditionalVAE.from_config(model.get_config()).code_mixture == 4
    config = model.get_config()
    del config["code_mixture"]  # written before the code mixture existed
    assert ConditionalVAE.from_config(config).code_mixture == 0
    assert VAE(spec, latent_dim=3, filters=4, hidden=16, pixel_layers=0).code_mixture == VAE.default_code_mixture
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(UserError, match="code_mixture must be a whole number >= 0"):
            _cvae(spec, code_mixture=bad)
    with pytest.raises(UserError, match="fit_code_mixture needs code_mixture > 0"):
        _cvae(spec, code_mixture=0).fit_code_mixture(shapes[0].take(4))
