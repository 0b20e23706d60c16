"""What the tests of the `pokemon40` GAN's extra terms share: a tiny DCGAN's hyper-parameters, a batch of one
grey body per image, the config check of a switchable term, and the generator's gradient norm under several
settings from the same weights."""

import numpy as np
import tensorflow as tf

from genzoo.data import DatasetSpec
from genzoo.models import DCGAN

POKEMON40 = DatasetSpec("pokemon40", 40, 40, "rgb", channels=3)
TINY = {"latent_dim": 4, "filters": 4, "seed": 2}


def batch(n=4):
    images = np.full([n, 40, 40, 3], 255, np.uint8)
    images[:, 8:30, 10:26] = 90  # a grey body
    images[:, 15, 16] = 255  # a white highlight inside it counts as background, as the background region paints it
    return {"image": tf.constant(images), "label": tf.fill([n], -1)}


def assert_config_round_trip_and_off(key: str, value: float, state: str, metric: str):
    """A term's hyper-parameter `key` at `value` round-trips through the config; off (the default) the model has no
    `state` attribute and reports no `metric`; a config saved before `key` existed rebuilds with it off."""
    model = DCGAN(POKEMON40, **{key: value}, **TINY)
    config = model.get_config()
    assert config[key] == value and DCGAN.from_config(config).get_config() == config
    plain = DCGAN(POKEMON40, **TINY)
    assert getattr(plain, key) == 0 and not hasattr(plain, state) and metric not in plain.metric_names
    old = {k: v for k, v in plain.get_config().items() if k != key}  # saved before it existed
    assert getattr(DCGAN.from_config(old), key) == 0


def generator_gradient_norms(models) -> list:
    """The generator's gradient norm in one step of each model, all started from the first one's weights and
    given the same batch and step seed, so only their hyper-parameters differ."""
    for model in models[1:]:
        model.set_weights(models[0].get_weights())
    norms = []
    for model in models:
        model.compile_for_training(1e-3)
        real = model.to_model_space(batch()["image"])
        norms.append(float(model.generator_step(real, None, tf.constant([5, 6], tf.int64))["g_grad_norm"]))
    return norms


def region_logits_layer(model):
    """The generator's convolution that gives the K region logits (it has no name of its own), found by its K
    filters."""
    return next(layer for layer in model.generator.layers if getattr(layer, "filters", 0) == model.regions)
