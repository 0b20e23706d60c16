"""The VAE's convolutional encoder and decoder, sized from a DatasetSpec."""

from __future__ import annotations

import keras
from keras import layers

from genzoo.data.spec import DatasetSpec
from genzoo.models.layers.convolutional import image_input, num_downsamples
from genzoo.models.layers.coords import AddCoords


def conv_encoder(spec: DatasetSpec, outputs: int, filters: int, hidden: int, num_classes: int = 0, name="encoder"):
    """Image (+ one-hot label) -> `outputs` numbers, through strided convolutions."""
    images, x = image_input(spec)
    x = layers.Conv2D(filters, 3, padding="same", activation="leaky_relu")(AddCoords()(x))
    for i in range(num_downsamples(spec.height, spec.width)):
        x = layers.Conv2D(filters * 2 ** (i + 1), 4, strides=2, padding="same", activation="leaky_relu")(x)
    x = layers.Flatten()(x)
    inputs = [images]
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([x, label])
    x = layers.Dense(hidden, activation="leaky_relu")(x)
    return keras.Model(inputs, layers.Dense(outputs)(x), name=name)


def conv_decoder(spec: DatasetSpec, code_dim: int, params_per_pixel: int, filters: int, hidden: int,
                 num_classes: int = 0, name="decoder"):
    """Code (+ one-hot label) -> per-pixel likelihood parameters `[H, W, P]`."""
    n = num_downsamples(spec.height, spec.width)
    h, w, top = spec.height // 2**n, spec.width // 2**n, filters * 2**n
    code = keras.Input((code_dim,), name="code")
    inputs, x = [code], code
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([code, label])
    x = layers.Dense(hidden, activation="leaky_relu")(x)
    x = layers.Dense(h * w * top, activation="leaky_relu")(x)
    x = layers.Reshape((h, w, top))(x)
    for i in reversed(range(n)):
        x = layers.Conv2DTranspose(filters * 2**i, 4, strides=2, padding="same", activation="leaky_relu")(AddCoords()(x))
    x = layers.Conv2D(filters, 3, padding="same", activation="leaky_relu")(AddCoords()(x))
    return keras.Model(inputs, layers.Conv2D(params_per_pixel, 1)(x), name=name)
