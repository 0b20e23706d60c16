"""The model contract, checked once for every registered model."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
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

    config = model.get_config()
    json.dumps(config)  # config.json must be able to hold it
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert len(rebuilt.weights) == len(model.weights)

    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.sample(3, seed=5).numpy(), samples.numpy())
    assert set(model.checkpoint_objects()) >= {"model"}
    assert hasattr(model, "serving_functions"), f"{name} is not servable"

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
