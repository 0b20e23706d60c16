"""The model contract, checked once for every registered model: the base contract and
each declared capability's behaviour. That serving exports exactly the declared
capabilities is checked on the exports of tests/test_export.py (one trace per model)."""

import inspect
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.models import capabilities as caps
from genzoo.models import registry
from genzoo.training.checkpoints import untracked_weights
from tests.small_models import SMALL_HPARAMS


@pytest.fixture(scope="module")
def shapes():
    ds, spec = data.load("shapes", "train")
    return next(iter(ds.batch(8))), spec


@pytest.mark.parametrize("name", registry.names())
def test_model_honours_the_contract(name, shapes, tmp_path):
    batch, spec = shapes
    model = registry.build(name, spec, seed=1, **SMALL_HPARAMS.get(name, {}))
    model.compile_for_training(1e-3)
    before = [v.numpy() for v in model.trainable_variables]
    metrics = model.train_step(batch)
    assert set(metrics) == set(model.metric_names) and model.monitor in metrics
    assert all(np.isfinite(float(v)) for v in metrics.values())
    moved = max(float(np.max(np.abs(a - b.numpy()))) for a, b in zip(before, model.trainable_variables))
    assert moved > 0, f"{name}: train_step changed no weight"
    assert set(model.test_step(batch)) == set(model.metric_names)

    samples = model.sample(3, seed=5)
    assert samples.shape == (3, *spec.image_shape) and samples.dtype == spec.image_dtype
    np.testing.assert_array_equal(samples.numpy(), model.sample(3, seed=5).numpy())
    assert data.to_rgb_uint8(samples, spec).shape == (3, 20, 20, 3)
    assert model.sample(1, seed=5).shape == (1, *spec.image_shape)  # `sample --num=1`: loops failed on 1 image

    config = model.get_config()
    json.dumps(config)  # config.json must be able to hold it
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert len(rebuilt.weights) == len(model.weights)

    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.sample(3, seed=5).numpy(), samples.numpy())
    assert set(model.checkpoint_objects()) >= {"model"}

    # What genzoo.training.runs.load_model does: a model checkpoint restored into a model
    # built with other random weights must hold every weight (a list-held weight did not).
    assert untracked_weights(model) == []
    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    keras.utils.set_random_seed(99)
    other = registry.build(name, spec, seed=1, **SMALL_HPARAMS.get(name, {}))
    tf.train.Checkpoint(model=other).restore(path).expect_partial()
    assert [w.shape for w in other.weights] == [w.shape for w in model.weights]  # (names are auto-numbered)
    for restored, saved in zip(other.weights, model.weights):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy(), err_msg=f"{name}: {saved.path}")


def test_registry_fails_loudly():
    from genzoo.errors import UserError

    with pytest.raises(UserError, match="unknown model 'nope'; choose one of .*vae"):
        registry.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("vae")(type("Other", (), {}))
    assert tf.constant(len(registry.names())).numpy() >= 9


# === Capabilities ===
def _small(name, spec):
    keras.utils.set_random_seed(3)
    return registry.build(name, spec, seed=1, **SMALL_HPARAMS.get(name, {}))


@pytest.mark.parametrize("name", registry.names())
def test_declared_capabilities_are_implemented_not_stubs(name, shapes):
    model = _small(name, shapes[1])
    declared = model.capabilities()
    assert caps.Sampler in declared
    for capability in declared:
        for method, stub in vars(capability).items():
            if inspect.isfunction(stub):
                assert getattr(type(model), method) is not stub, f"{name}: {capability.__name__}.{method} is a stub"


@pytest.mark.parametrize("name", registry.names())
def test_each_declared_capability_behaves(name, shapes):
    batch, spec = shapes
    model = _small(name, spec)
    has = model.capabilities()
    images = batch["image"][:4]
    labels = batch["label"][:4] if caps.Conditional in has else None

    if caps.Conditional in has:
        # Label terms may start at zero (a class starts neutral); random ones make labels matter.
        rng = np.random.RandomState(0)
        for w in model.weights:
            if "label" in w.path:
                w.assign(rng.normal(0.0, 1.0, w.shape).astype(np.float32))
        picked = model.sample(4, seed=2, labels=[1, 1, 1, 1])
        assert picked.shape == (4, *spec.image_shape)
        # Same seed, another label: other images (a model that ignored its labels would repeat them).
        # Whether trained models draw the asked-for class: tools/label_control.py.
        assert not np.array_equal(model.sample(4, seed=2, labels=[0, 0, 0, 0]).numpy(), picked.numpy())
    else:
        with pytest.raises(UserError, match="not conditional"):
            model.sample(2, seed=2, labels=[0, 1])
    if not model.tempered:
        with pytest.raises(UserError, match="no sampling temperature"):
            model.sample(2, seed=2, temperature=0.5)

    if caps.ExactLikelihood in has:
        log_p = model.log_prob(images, labels).numpy()
        assert log_p.shape == (4,) and np.all(np.isfinite(log_p)) and np.all(log_p <= 0)
        np.testing.assert_allclose(model.bits_per_dim(-log_p), -log_p / (spec.num_dims * np.log(2)), rtol=1e-6)
    if caps.LikelihoodBound in has:
        elbo = model.elbo(images, labels, seed=1).numpy()
        iw = model.importance_weighted_bound(images, labels, num_samples=16, seed=1).numpy()
        assert np.all(np.isfinite(elbo)) and np.all(elbo <= 0) and np.all(np.isfinite(iw)) and np.all(iw <= 0)
        assert iw.mean() >= elbo.mean() - 1.0  # tighter in expectation (one-sample noise allowed)
    if caps.Encoder in has:
        mean, log_var = model.encode(images, labels)
        assert mean.shape == log_var.shape == (4, model.latent_dim)
        assert model.reconstruct(images, labels).shape == images.shape
    if caps.Decoder in has:
        z = model.sample_codes(3, seed=4)
        assert z.shape == (3, model.latent_dim)
        decoded = model.decode(z)
        assert decoded.shape == (3, *spec.image_shape) and decoded.dtype == spec.image_dtype
        np.testing.assert_array_equal(decoded.numpy(), model.decode(z).numpy())
    if caps.Guided in has:
        z = model.sample_codes(3, seed=4, labels=[0, 0, 0])
        scale = model.guidance
        model.set_guidance(0.0)  # the decoder without labels: the images no longer depend on them
        np.testing.assert_array_equal(model.decode(z, [0, 0, 0]).numpy(), model.decode(z, [1, 1, 1]).numpy())
        model.set_guidance(scale)
    if caps.CodeSpace in has:
        assert model.interpolation_grid(2, 3, seed=0).shape == (6, *spec.image_shape)
    if caps.Completer in has:
        known = spec.width + 3
        done = model.complete(images, known, seed=0, labels=labels).numpy().reshape(4, -1)
        np.testing.assert_array_equal(done[:, :known], images.numpy().reshape(4, -1)[:, :known])


def test_tools_ask_capabilities_not_attributes():
    """No `hasattr` probe, class-name or model-name check outside the models."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in [*root.glob("genzoo/**/*.py"), *root.glob("tools/*.py")]:
        if "genzoo/models" in path.as_posix():
            continue
        text = path.read_text()
        for probe in ("hasattr(model", "__class__.__name__", 'getattr(model, "conditional"'):
            assert probe not in text, f"{path.relative_to(root)} probes a model with {probe!r}"
