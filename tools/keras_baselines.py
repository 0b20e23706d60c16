"""Plain Keras baselines: genzoo's architectures written the way the keras.io tutorials write them.

The yardstick of tools/bench.py. Standard layers, one-hot inputs (the lecture's
1-of-N pixel, materialised), `fit` on NumPy arrays, no XLA, no custom kernels:
  * pixel_lstm: one-hot previous pixel -> `LSTM(512, return_sequences=True)` -> logits
    over the palette (the lecture's model; keras.io "character-level text generation").
  * pixel_cnn: the keras.io "PixelCNN" example's masked `Conv2D` layers (the mask
    multiplied into the kernel in `call`) with genzoo's block layout.
  * vae, cvae: the keras.io "Variational AutoEncoder" example (a `Sampling` layer and a
    `train_step` computing reconstruction + KL) with genzoo's encoder/decoder layout.
  * gan, dcgan, cgan: the keras.io "DCGAN" / "Conditional GAN" examples (one
    discriminator pass over the concatenated real and fake batch, binary
    cross-entropy, then one generator step) on genzoo's networks.
row_lstm and diagonal_bilstm have none: Keras has no layer for their recurrences
(ConvLSTM1D's input convolution would see the pixels to the right).

Each builder returns (compiled model, inputs, targets) for `model.fit(inputs, targets, batch_size=64)`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from genzoo.models.gan import networks as genzoo_gan
from genzoo.models.layers import AddCoords, num_downsamples
from genzoo.models.vae.networks import conv_decoder


def _one_hot(indices, depth):
    return np.eye(depth, dtype=np.float32)[indices]


# === pixel_lstm ===
def pixel_lstm(images, labels, spec, units=512):
    v = spec.num_colors
    flat = images.reshape(len(images), -1)
    previous = np.concatenate([np.full((len(images), 1), v), flat[:, :-1]], axis=1)
    inputs = keras.Input((flat.shape[1], v + 1))
    x = layers.LSTM(units, return_sequences=True)(inputs)
    model = keras.Model(inputs, layers.Dense(v)(x))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, _one_hot(previous, v + 1), flat


# === pixel_cnn (keras.io PixelCNN example) ===
class PixelConvLayer(layers.Layer):
    def __init__(self, mask_type, **kwargs):
        super().__init__()
        self.mask_type = mask_type
        self.conv = layers.Conv2D(**kwargs)

    def build(self, input_shape):
        self.conv.build(input_shape)
        kernel_shape = self.conv.kernel.shape
        self.mask = np.zeros(shape=kernel_shape, dtype=np.float32)
        self.mask[: kernel_shape[0] // 2, ...] = 1.0
        self.mask[kernel_shape[0] // 2, : kernel_shape[1] // 2, ...] = 1.0
        if self.mask_type == "B":
            self.mask[kernel_shape[0] // 2, kernel_shape[1] // 2, ...] = 1.0

    def call(self, inputs):
        self.conv.kernel.assign(self.conv.kernel * self.mask)
        return self.conv(inputs)


def pixel_cnn(images, labels, spec, filters=96, blocks=7):
    v = spec.num_colors
    inputs = keras.Input((spec.height, spec.width, v))
    x = PixelConvLayer("A", filters=filters, kernel_size=7, padding="same")(inputs)
    for _ in range(blocks):
        y = PixelConvLayer("B", filters=filters // 2, kernel_size=1, activation="relu")(layers.ReLU()(x))
        y = PixelConvLayer("B", filters=filters // 2, kernel_size=3, padding="same", activation="relu")(y)
        x = layers.Add()([x, PixelConvLayer("B", filters=filters, kernel_size=1)(y)])
    x = PixelConvLayer("B", filters=filters, kernel_size=1, activation="relu")(layers.ReLU()(x))
    model = keras.Model(inputs, PixelConvLayer("B", filters=v, kernel_size=1)(x))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, _one_hot(images, v), images


# === vae, cvae (keras.io VAE example) ===
class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(shape=tf.shape(z_mean))
        return z_mean + tf.exp(0.5 * z_log_var) * epsilon


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.sampling = Sampling()

    def train_step(self, data):
        x, label = data
        targets = tf.argmax(x, axis=-1)
        with tf.GradientTape() as tape:
            stats = self.encoder([x, label])
            z_mean, z_log_var = tf.split(stats, 2, axis=-1)
            z = self.sampling([z_mean, z_log_var])
            logits = self.decoder([z, label])
            reconstruction = tf.reduce_mean(tf.reduce_sum(
                keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True), axis=(1, 2)))
            kl = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
            loss = reconstruction + tf.reduce_mean(tf.reduce_sum(kl, axis=1))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return {"loss": loss}


def _vae_encoder(spec, outputs, filters, hidden, num_classes):
    images = keras.Input((spec.height, spec.width, spec.num_colors))
    label = keras.Input((max(num_classes, 1),))
    x = layers.Conv2D(filters, 3, padding="same", activation="leaky_relu")(AddCoords()(images))
    for i in range(num_downsamples(spec.height, spec.width)):
        x = layers.Conv2D(filters * 2 ** (i + 1), 4, strides=2, padding="same", activation="leaky_relu")(x)
    x = layers.Flatten()(x)
    if num_classes:
        x = layers.Concatenate()([x, label])
    x = layers.Dense(hidden, activation="leaky_relu")(x)
    return keras.Model([images, label], layers.Dense(outputs)(x))


def _vae(images, labels, spec, num_classes, latent_dim=32, filters=32, hidden=256):
    encoder = _vae_encoder(spec, 2 * latent_dim, filters, hidden, num_classes)
    decoder = conv_decoder(spec, latent_dim, spec.num_colors, filters, hidden, num_classes)
    if not num_classes:  # the same call signature either way
        code, label = keras.Input((latent_dim,)), keras.Input((1,))
        decoder = keras.Model([code, label], decoder(code))
    model = VAE(encoder, decoder)
    model.compile(optimizer=keras.optimizers.Adam())
    one_hot_labels = _one_hot(labels, max(num_classes, 1)) if num_classes else np.zeros((len(images), 1), np.float32)
    return model, _one_hot(images, spec.num_colors), one_hot_labels


def vae(images, labels, spec):
    return _vae(images, labels, spec, 0)


def cvae(images, labels, spec):
    return _vae(images, labels, spec, spec.num_classes)


# === gan, dcgan, cgan (keras.io DCGAN / conditional GAN examples) ===
class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim, conditional):
        super().__init__()
        self.discriminator, self.generator = discriminator, generator
        self.latent_dim, self.conditional = latent_dim, conditional
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def _with_label(self, x, label):
        return [x, label] if self.conditional else x

    def train_step(self, data):
        real_images, label = data
        batch_size = tf.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim))
        generated_images = self.generator(self._with_label(random_latent_vectors, label))
        combined_images = tf.concat([generated_images, real_images], axis=0)
        combined_labels = tf.concat([label, label], axis=0)
        targets = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self._with_label(combined_images, combined_labels))
            d_loss = self.loss_fn(targets, predictions[:, None])
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim))
        misleading_labels = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            fake = self.generator(self._with_label(random_latent_vectors, label))
            predictions = self.discriminator(self._with_label(fake, label))
            g_loss = self.loss_fn(misleading_labels, predictions[:, None])
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        return {"d_loss": d_loss, "g_loss": g_loss}


def _rgb(images, spec):
    """Encoded images -> RGB in [-1, 1], as the tutorials scale them."""
    if spec.encoding == "palette":
        return (np.asarray(spec.palette, np.float32) / 127.5 - 1.0)[images]
    return np.asarray(images, np.float32) * 2.0 - 1.0


def _gan(images, labels, spec, architecture, num_classes, latent_dim=100, filters=32, hidden=256):
    shape = (spec.height, spec.width, 3)
    if architecture == "dcgan":
        generator = genzoo_gan.dcgan_generator(latent_dim, shape, filters, num_classes)
        discriminator = genzoo_gan.dcgan_discriminator(shape, filters, num_classes)
    else:
        generator = genzoo_gan.mlp_generator(latent_dim, shape, hidden, num_classes)
        discriminator = genzoo_gan.mlp_discriminator(shape, hidden, num_classes)
    model = GAN(discriminator, generator, latent_dim, bool(num_classes))
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    return model, _rgb(images, spec), labels.astype(np.int32)


def gan(images, labels, spec):
    return _gan(images, labels, spec, "mlp", 0)


def dcgan(images, labels, spec):
    return _gan(images, labels, spec, "dcgan", 0)


def cgan(images, labels, spec):
    return _gan(images, labels, spec, "dcgan", spec.num_classes)


BASELINES = {f.__name__: f for f in (pixel_lstm, pixel_cnn, vae, cvae, gan, dcgan, cgan)}
