"""What the tests of the `pokemon40` GAN's extra terms share: a tiny DCGAN's hyper-parameters, a batch of one
grey body per image, and the generator's gradient norm under several settings from the same weights."""

import numpy as np
import tensorflow as tf

from genzoo.data import DatasetSpec

POKEMON40 = DatasetSpec("pokemon40", 40, 40, "rgb", channels=3)
TINY = {"latent_dim": 4, "filters": 4, "seed": 2}


def batch(n=4):
    images = np.full([n, 40, 40, 3], 255, np.uint8)
    images[:, 8:30, 10:26] = 90  # a grey body
    images[:, 15, 16] = 255  # a white highlight inside it counts as background, as the background region paints it
    return {"image": tf.constant(images), "label": tf.fill([n], -1)}


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
