"""Generative adversarial networks: the MLP GAN, DCGAN and a conditional DCGAN.

The game (Goodfellow et al. 2014, algorithm 1): with the generator fixed, take
`d_steps` discriminator steps on real and generated batches; then, with the
discriminator fixed, take one generator step so that its samples are called
real. Two Adam optimizers, each touching only its own network's variables.
Losses are the pure functions of `genzoo.gan_losses`, picked by name.

References:
  Goodfellow et al., *Generative Adversarial Nets*, 2014 (the game; the MLP GAN).
  Radford, Metz & Chintala, *Unsupervised Representation Learning with Deep
    Convolutional GANs*, 2016 (DCGAN: strided convolutions, batch norm, ReLU in G,
    LeakyReLU(0.2) in D, tanh output, Adam with beta_1 = 0.5; code-space arithmetic).
  Mirza & Osindero, *Conditional Generative Adversarial Nets*, 2014 (labels to G).
  Miyato & Koyama, *cGANs with Projection Discriminator*, 2018 (labels to D, eq. 3).
  Odena, Olah & Shlens, *Conditional Image Synthesis with Auxiliary Classifier GANs*,
    2017 (AC-GAN: a class head on D, its log-likelihood in both players' losses).
  Gulrajani et al., *Improved Training of Wasserstein GANs*, 2017 (no batch norm in
    a gradient-penalised critic; layer norm instead).
  Yazıcı et al., *The Unusual Effectiveness of Averaging in GAN Training*, 2019
    (an exponential moving average of the generator's weights for sampling).
  White, *Sampling Generative Networks*, 2016 (spherical interpolation of codes).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from genzoo import gan_losses
from genzoo.data.encodings import palette_to_rgb, quantize, to_rgb_uint8
from genzoo.distribute import global_gradient_norm, global_mean, replica_slice
from genzoo.errors import UserError
from genzoo.models.base import GenerativeModel, make_optimizer, seed_pair
from genzoo.models.networks import num_downsamples
from genzoo.models.registry import register

LABEL_EMBEDDING = 32  # size of the label embedding concatenated to the generator's code


# === Networks ===
def _code_input(latent_dim: int, num_classes: int):
    """Code z (+ int label, embedded) -> the generator's first features (Mirza & Osindero 2014)."""
    code = keras.Input((latent_dim,), name="code")
    if not num_classes:
        return [code], code
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, LABEL_EMBEDDING, name="label_embedding")(label)
    return [code, label], layers.Concatenate()([code, embedded])


def _projection_head(inputs: list, features, num_classes: int, name: str, classifier: bool = False):
    """Features phi(x) -> psi(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018, eq. 3),
    and with `classifier` also class logits from phi(x) (Odena et al. 2017): `[score, logits]`."""
    score = layers.Dense(1, name="score")(features)
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs = [*inputs, label]
        embedded = layers.Embedding(num_classes, features.shape[-1], name="class_projection")(label)
        projection = layers.Dot(axes=-1)([embedded, features])
        score = layers.Add()([score, projection])
    score = layers.Reshape(())(score)
    if classifier:
        return keras.Model(inputs, [score, layers.Dense(num_classes, name="class_logits")(features)], name=name)
    return keras.Model(inputs, score, name=name)


def mlp_generator(latent_dim: int, shape: tuple, hidden: int, num_classes: int = 0, name="generator"):
    """Goodfellow et al. 2014: fully connected ReLU layers, tanh output in [-1, 1]."""
    inputs, x = _code_input(latent_dim, num_classes)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense(math.prod(shape), activation="tanh")(x)
    return keras.Model(inputs, layers.Reshape(shape)(x), name=name)


def mlp_discriminator(shape: tuple, hidden: int, num_classes: int = 0, name="discriminator",
                      classifier: bool = False):
    """Two LeakyReLU layers (the paper's maxout units do the same job) and a linear score."""
    image = keras.Input(shape, name="image")
    x = layers.Flatten()(image)
    x = layers.Dense(hidden)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Dense(hidden)(x)
    x = layers.LeakyReLU(0.2)(x)
    return _projection_head([image], x, num_classes, name, classifier)


def dcgan_generator(latent_dim: int, shape: tuple, filters: int, num_classes: int = 0, name="generator"):
    """Radford et al. 2016: project and reshape, then fractionally strided convolutions
    with batch norm and ReLU, doubling the size each time, and a tanh output."""
    height, width, channels = shape
    n = num_downsamples(height, width)
    h, w, top = height // 2**n, width // 2**n, filters * 2**n
    inputs, x = _code_input(latent_dim, num_classes)
    x = layers.Dense(h * w * top, use_bias=False)(x)  # batch norm's offset replaces the bias
    x = layers.BatchNormalization(synchronized=True)(x)
    x = layers.ReLU()(layers.Reshape((h, w, top))(x))
    for i in reversed(range(n)):
        x = layers.Conv2DTranspose(filters * 2**i, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(synchronized=True)(x))
    x = layers.Conv2D(channels, 3, padding="same", activation="tanh")(x)
    return keras.Model(inputs, x, name=name)


def dcgan_discriminator(shape: tuple, filters: int, num_classes: int = 0, norm: str = "batch",
                        name="discriminator", classifier: bool = False):
    """Radford et al. 2016: strided convolutions with LeakyReLU(0.2), normalised after
    the first; `norm="layer"` for a gradient-penalised critic (Gulrajani et al. 2017)."""
    height, width, _ = shape
    image = keras.Input(shape, name="image")
    x = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 3, padding="same")(image))
    for i in range(num_downsamples(height, width)):
        x = layers.Conv2D(filters * 2 ** (i + 1), 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(synchronized=True)(x) if norm == "batch" else layers.LayerNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
    return _projection_head([image], layers.Flatten()(x), num_classes, name, classifier)


# === Model ===
@register("gan")
@keras.saving.register_keras_serializable("genzoo")
class GAN(GenerativeModel):
    """The adversarial game with fully connected networks (Goodfellow et al. 2014).

    Images are played in RGB scaled to [-1, 1] (palette data through its colours,
    binary data as one channel); `sample` maps back to the spec's encoding (palette
    indices by nearest colour). Any spec works, including a `1 x 2` "image" of 2-D
    points, which is how the tests play the lecture's 8-Gaussians toy.

    Args:
      spec: `DatasetSpec` of the encoded images.
      latent_dim: size of the code z ~ N(0, I).
      filters: DCGAN: channels of the first convolution (doubling at each halving).
      hidden: MLP GAN: width of the hidden layers.
      loss: one of `genzoo.gan_losses.LOSSES`: minimax, non_saturating, wgan_gp,
        hinge, least_squares.
      d_steps: discriminator steps per generator step (k in algorithm 1).
      gp_weight: lambda of the gradient penalty (wgan_gp only; 10 in the paper).
      ema_decay: decay of the moving average of the generator's weights used by
        `generate`/`sample` (0: the current weights).
      beta_1, beta_2: Adam's moment decays for both networks (DCGAN: 0.5, 0.999).
      aux_weight: conditional models: weight of the auxiliary classifier's loss
        (AC-GAN, Odena et al. 2017) added to both players' losses; 0 switches the
        class head off. None: the class's `default_aux_weight` (1 for `cgan`).
      seed: base seed of the training noise.
    """

    conditional = False
    default_aux_weight = 0.0
    architecture = "mlp"
    metric_names = ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy", "d_grad_norm", "g_grad_norm")
    # No GAN loss measures sample quality (the lecture's warning); the held-out
    # generator loss at least rises when the discriminator overpowers the generator.
    monitor = "g_loss"
    default_learning_rate = 2e-4  # Radford et al. 2016, section 4

    def __init__(self, spec, latent_dim: int = 100, filters: int = 32, hidden: int = 256,
                 loss: str = "non_saturating", d_steps: int = 1, gp_weight: float = 10.0,
                 ema_decay: float = 0.999, beta_1: float = 0.5, beta_2: float = 0.999, aux_weight: float | None = None,
                 seed: int = 0, **kwargs):
        super().__init__(spec, seed, **kwargs)
        for name, value in (("latent_dim", latent_dim), ("filters", filters), ("hidden", hidden),
                            ("d_steps", d_steps)):
            if int(value) < 1:
                raise UserError(f"{name} must be positive, got {value}")
        if loss not in gan_losses.LOSSES:
            raise UserError(f"unknown GAN loss {loss!r}; choose one of {', '.join(gan_losses.LOSSES)}")
        if not 0.0 <= ema_decay < 1.0:
            raise UserError(f"ema_decay must lie in [0, 1), got {ema_decay}")
        if gp_weight < 0:
            raise UserError(f"gp_weight must be >= 0, got {gp_weight}")
        aux_weight = self.default_aux_weight if aux_weight is None else aux_weight
        if aux_weight < 0 or (aux_weight and not self.conditional):
            raise UserError(f"aux_weight must be >= 0 and needs a conditional model, got {aux_weight} "
                            f"for {type(self).__name__}")
        if self.conditional and self.spec.num_classes < 2:
            raise UserError(f"{type(self).__name__} needs a labelled dataset; {self.spec.name!r} has no labels")
        self.latent_dim, self.filters, self.hidden = int(latent_dim), int(filters), int(hidden)
        self.loss_name, self.d_steps, self.gp_weight = loss, int(d_steps), float(gp_weight)
        self.ema_decay, self.beta_1, self.beta_2 = float(ema_decay), float(beta_1), float(beta_2)
        self.aux_weight = float(aux_weight)
        self.gan_loss = gan_losses.get(loss)
        self.num_classes = self.spec.num_classes if self.conditional else 0
        channels = 3 if self.spec.encoding == "palette" else self.spec.image_shape[-1]
        self.image_shape = (self.spec.height, self.spec.width, channels)
        # === Layers ===
        self.generator = self.build_generator("generator")
        self.discriminator = self.build_discriminator()
        # The averaged generator: same network, weights only ever assigned, never trained.
        self.ema_generator = self.build_generator("ema_generator")
        self.ema_generator.trainable = False
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(weight)
        self.built = True

    def build_generator(self, name):
        return mlp_generator(self.latent_dim, self.image_shape, self.hidden, self.num_classes, name)

    def build_discriminator(self):
        return mlp_discriminator(self.image_shape, self.hidden, self.num_classes, classifier=bool(self.aux_weight))

    # === Encodings <-> the networks' [-1, 1] space ===
    def to_model_space(self, images):
        """Encoded images -> float `[B, H, W, C]` in [-1, 1]."""
        if self.spec.encoding == "palette":
            return tf.cast(palette_to_rgb(images, self.spec.palette), tf.float32) / 127.5 - 1.0
        return 2.0 * tf.cast(images, tf.float32) - 1.0

    def from_model_space(self, x):
        """Generator output in [-1, 1] -> encoded images (nearest palette colour, {0,1} or [0,1])."""
        if self.spec.encoding == "palette":
            return quantize((x + 1.0) * 127.5, self.spec.palette)
        if self.spec.encoding == "binary":
            return tf.cast(x > 0.0, tf.float32)
        return tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)

    # === Network calls ===
    def _inputs(self, x, labels):
        return [x, tf.cast(labels, tf.int32)] if self.conditional else x

    def call(self, z, labels=None, training=False):
        """The generator's output in [-1, 1] for codes z (labels for the conditional GAN)."""
        return self.generator(self._inputs(z, labels), training=training)

    def _scores(self, outputs):
        """The discriminator's outputs -> (scores `[B]`, class logits `[B, classes]` or None)."""
        return (outputs[0], outputs[1]) if self.aux_weight else (outputs, None)

    def _class_loss(self, labels, logits):
        """aux_weight * the auxiliary classifier's cross-entropy, per example (0 without a class head)."""
        if logits is None:
            return 0.0
        return self.aux_weight * gan_losses.auxiliary_classifier_loss(labels, logits)

    def _frozen_call(self, network, inputs):
        """`network` in training mode (batch statistics) without updating any of its state.

        Each step must leave the other player untouched, including its batch-norm
        moving averages, so the other network runs statelessly on its current values.
        """
        outputs, _ = network.stateless_call(
            [v.value for v in network.trainable_variables],
            [v.value for v in network.non_trainable_variables], inputs, training=True)
        return outputs

    def noise(self, batch, seed):
        """Codes for this replica's examples: the same per example whatever the replica count."""
        return replica_slice(lambda n: tf.random.stateless_normal([n, self.latent_dim], seed), batch)

    # === The game ===
    def discriminator_step(self, real, labels, seed):
        """One discriminator update on a real batch (in [-1, 1]) and a fresh generated batch."""
        batch = tf.shape(real)[0]
        fake = tf.stop_gradient(self._frozen_call(self.generator, self._inputs(self.noise(batch, seed), labels)))
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            # Separate calls: batch norm must normalise generated images by statistics of a
            # generated batch, as in the generator step, or the generator learns to exploit
            # the difference between a mixed batch and a purely generated one.
            real_scores, real_logits = self._scores(self.discriminator(self._inputs(real, labels), training=True))
            fake_scores, fake_logits = self._scores(self.discriminator(self._inputs(fake, labels), training=True))
            per_example = self.gan_loss.discriminator(real_scores, fake_scores)
            # AC-GAN: D maximises the class log-likelihood of real and generated images.
            per_example += self._class_loss(labels, real_logits) + self._class_loss(labels, fake_logits)
            if self.gan_loss.gradient_penalty:
                mix_seed = tf.random.experimental.stateless_fold_in(seed, 1)
                epsilon = replica_slice(lambda n: tf.random.stateless_uniform([n], mix_seed), batch)
                critic = lambda x: self._scores(self.discriminator(self._inputs(x, labels), training=True))[0]
                per_example += self.gp_weight * gan_losses.wasserstein_gradient_penalty(critic, real, fake, epsilon)
            scaled = self.d_optimizer.scale_loss(global_mean(per_example))
        gradients = tape.gradient(scaled, variables)
        self.d_optimizer.apply_gradients(zip(gradients, variables))
        threshold = self.gan_loss.threshold
        return {
            "d_loss": per_example,
            "d_real_accuracy": tf.cast(real_scores > threshold, tf.float32),
            "d_fake_accuracy": tf.cast(fake_scores <= threshold, tf.float32),
            "d_grad_norm": global_gradient_norm(gradients),
        }

    def generator_step(self, batch, labels, seed):
        """One generator update through the fixed discriminator."""
        z = self.noise(batch, seed)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(z, labels), training=True)
            fake_scores, fake_logits = self._scores(self._frozen_call(self.discriminator, self._inputs(fake, labels)))
            per_example = self.gan_loss.generator(fake_scores) + self._class_loss(labels, fake_logits)
            scaled = self.g_optimizer.scale_loss(global_mean(per_example))
        gradients = tape.gradient(scaled, variables)
        self.g_optimizer.apply_gradients(zip(gradients, variables))
        return {"g_loss": per_example, "g_grad_norm": global_gradient_norm(gradients)}

    def update_ema(self):
        """Averages trainable weights, copies batch-norm statistics.

        The decay ramps up as min(decay, (1 + t) / (10 + t)) (tf.train.ExponentialMovingAverage's
        num_updates), so short runs are not dominated by the initial weights.
        """
        t = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            if weight.trainable:
                average.assign(decay * average + (1.0 - decay) * weight)
            else:
                average.assign(weight)

    def train_step(self, data):
        real = self.to_model_space(data["image"])
        labels = data["label"] if self.conditional else None
        batch = tf.shape(real)[0]
        for k in range(self.d_steps):  # the same real batch for each of the k steps, fresh fakes each time
            self.track(self.discriminator_step(real, labels, self.step_seed(k)))
        results = self.track(self.generator_step(batch, labels, self.step_seed(self.d_steps)))
        self.update_ema()
        return results

    def test_step(self, data):
        """Both losses and accuracies on held-out images and fixed-seed codes (networks in inference mode)."""
        real = self.to_model_space(data["image"])
        labels = data["label"] if self.conditional else None
        batch = tf.shape(real)[0]
        fake = self.generator(self._inputs(self.noise(batch, seed_pair(self.seed, -1)), labels), training=False)
        real_scores, real_logits = self._scores(self.discriminator(self._inputs(real, labels), training=False))
        fake_scores, fake_logits = self._scores(self.discriminator(self._inputs(fake, labels), training=False))
        class_losses = self._class_loss(labels, real_logits) + self._class_loss(labels, fake_logits)
        threshold = self.gan_loss.threshold
        return self.track({
            "d_loss": self.gan_loss.discriminator(real_scores, fake_scores) + class_losses,
            "g_loss": self.gan_loss.generator(fake_scores) + self._class_loss(labels, fake_logits),
            "d_real_accuracy": tf.cast(real_scores > threshold, tf.float32),
            "d_fake_accuracy": tf.cast(fake_scores <= threshold, tf.float32),
        })

    # === Training set-up ===
    def compile_for_training(self, learning_rate: float) -> None:
        """Two Adam optimizers, each built on its own network's variables only."""
        adam = lambda name: make_optimizer(learning_rate, beta_1=self.beta_1, beta_2=self.beta_2, name=name)
        self.d_optimizer, self.g_optimizer = adam("d_adam"), adam("g_adam")
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        # Keras `fit` wants a compiled model; its optimizer is the generator's (its step counter).
        self.compile(optimizer=self.g_optimizer)

    def checkpoint_objects(self) -> dict:
        return {"model": self, "d_optimizer": self.d_optimizer, "g_optimizer": self.g_optimizer}

    def step_seed(self, salt: int = 0) -> tf.Tensor:
        """Counted in generator steps, which the checkpoint restores with the optimizer."""
        return seed_pair(self.seed * 1000003 + salt, self.g_optimizer.iterations)

    # === Code space ===
    def _labels_for(self, num, labels):
        if not self.conditional:
            return None
        if labels is None:
            return tf.range(num) % self.num_classes
        return tf.cast(labels, tf.int32)

    def generate(self, z, labels=None, ema: bool = True):
        """Codes `[N, latent_dim]` (+ labels) -> encoded images, by the averaged generator unless `ema=False`."""
        z = tf.convert_to_tensor(z, tf.float32)
        network = self.ema_generator if ema else self.generator
        x = network(self._inputs(z, self._labels_for(tf.shape(z)[0], labels)), training=False)
        return self.from_model_space(x)

    def sample_codes(self, num, seed):
        return tf.random.stateless_normal([num, self.latent_dim], seed_pair(seed, 0))

    def sample(self, num: int, seed: int, labels=None):
        """`num` encoded images from z ~ N(0, I); conditional models cycle the classes when `labels` is None."""
        return self.generate(self.sample_codes(num, seed), labels)

    @staticmethod
    def interpolate(z0, z1, steps: int, spherical: bool = True):
        """`steps` codes from z0 to z1 (both ends included), `[steps, latent_dim]`.

        Spherical by default (White 2016): a straight line between two Gaussian codes
        passes through codes of atypically small norm.
        """
        if steps < 2:
            raise UserError(f"interpolation needs at least 2 steps, got {steps}")
        z0, z1 = tf.convert_to_tensor(z0, tf.float32), tf.convert_to_tensor(z1, tf.float32)
        t = tf.linspace(0.0, 1.0, steps)[:, None]
        if not spherical:
            return (1.0 - t) * z0 + t * z1
        cos = tf.reduce_sum(z0 * z1) / (tf.norm(z0) * tf.norm(z1))
        omega = tf.acos(tf.clip_by_value(cos, -1.0 + 1e-7, 1.0 - 1e-7))
        return (tf.sin((1.0 - t) * omega) * z0 + tf.sin(t * omega) * z1) / tf.sin(omega)

    @staticmethod
    def attribute_vector(codes_a, codes_b):
        """mean(codes_a) - mean(codes_b): adding it to a code moves its image from group b
        towards group a (Radford et al. 2016, section 6.3, the "smiling" vector)."""
        return tf.reduce_mean(tf.cast(codes_a, tf.float32), 0) - tf.reduce_mean(tf.cast(codes_b, tf.float32), 0)

    def interpolation_grid(self, rows: int, steps: int, seed: int, labels=None):
        """Encoded images `[rows * steps, ...]`: each row walks between two random codes."""
        codes = self.sample_codes(2 * rows, seed)
        path = tf.concat([self.interpolate(codes[2 * r], codes[2 * r + 1], steps) for r in range(rows)], 0)
        return self.generate(path, None if labels is None else np.repeat(np.resize(labels, rows), steps))

    def attribute_grid(self, rows: int, steps: int, seed: int, pool: int = 512, labels=None):
        """Encoded images `[rows * steps, ...]` adding -2..2 times the "more ink" vector to `rows` codes.

        The lecture's demo labels samples by hand; here the groups are labelled by a
        property every dataset has: the quarter of `pool` samples with the most
        non-background pixels minus the quarter with the fewest.
        """
        codes = self.sample_codes(pool, seed)
        pictures = tf.cast(to_rgb_uint8(self.generate(codes, self._labels_for(pool, None)), self.spec), tf.float32)
        ink = tf.reduce_mean(tf.cast(tf.reduce_min(pictures, axis=-1) < 200.0, tf.float32), axis=[1, 2])
        order = tf.argsort(ink)
        quarter = pool // 4
        vector = self.attribute_vector(tf.gather(codes, order[-quarter:]), tf.gather(codes, order[:quarter]))
        base = self.sample_codes(rows, seed + 1)
        scales = tf.linspace(-2.0, 2.0, steps)
        path = tf.reshape(base[:, None, :] + scales[None, :, None] * vector, [-1, self.latent_dim])
        return self.generate(path, None if labels is None else np.repeat(np.resize(labels, rows), steps))

    # === Serving ===
    def _serving_outputs(self, encoded):
        outputs = {"images": to_rgb_uint8(encoded, self.spec)}
        if self.spec.encoding == "palette":
            outputs["indices"] = tf.cast(encoded, tf.int32)
        return outputs

    def _check_labels(self, labels, num):
        """The labels, usable only after the checks passed (so a bad label fails with
        this message, not inside the embedding lookup)."""
        with tf.control_dependencies([
            tf.debugging.assert_equal(tf.size(labels), num, message="labels must hold one class per image"),
            tf.debugging.assert_non_negative(labels, message="labels must be >= 0"),
            tf.debugging.assert_less(labels, self.num_classes,
                                     message=f"labels must be below the number of classes, {self.num_classes}"),
        ]):
            return tf.identity(labels)

    def serving_functions(self, max_num_samples: int) -> dict:
        """`sample(num_samples, seed[, labels])` (the default) and `generate(z[, labels])`."""
        cap = int(max_num_samples)
        message = f"num_samples exceeds the cap of {cap}"

        def check_num(num):
            with tf.control_dependencies([
                tf.debugging.assert_positive(num, message="num_samples must be positive"),
                tf.debugging.assert_less_equal(num, cap, message=message),
            ]):
                return tf.identity(num)

        num_spec = tf.TensorSpec([], tf.int32, name="num_samples")
        seed_spec = tf.TensorSpec([], tf.int64, name="seed")
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        label_spec = tf.TensorSpec([None], tf.int32, name="labels")

        def sample_images(num_samples, seed, labels=None):
            num_samples = check_num(num_samples)
            return self._serving_outputs(self.generate(self.sample_codes(num_samples, seed), labels))

        def generate_images(z, labels=None):
            with tf.control_dependencies([check_num(tf.shape(z)[0])]):
                z = tf.debugging.assert_all_finite(z, message="z must be finite")
            return self._serving_outputs(self.generate(z, labels))

        if self.conditional:
            @tf.function(input_signature=[num_spec, seed_spec, label_spec])
            def sample(num_samples, seed, labels):
                return sample_images(num_samples, seed, self._check_labels(labels, num_samples))

            @tf.function(input_signature=[z_spec, label_spec])
            def generate(z, labels):
                return generate_images(z, self._check_labels(labels, tf.shape(z)[0]))
        else:
            @tf.function(input_signature=[num_spec, seed_spec])
            def sample(num_samples, seed):
                return sample_images(num_samples, seed)

            @tf.function(input_signature=[z_spec])
            def generate(z):
                return generate_images(z)

        return {"sample": sample, "generate": generate}

    # === Config ===
    def get_config(self):
        return {
            **super().get_config(), "latent_dim": self.latent_dim, "filters": self.filters, "hidden": self.hidden,
            "loss": self.loss_name, "d_steps": self.d_steps, "gp_weight": self.gp_weight,
            "ema_decay": self.ema_decay, "beta_1": self.beta_1, "beta_2": self.beta_2, "aux_weight": self.aux_weight,
        }


@register("dcgan")
@keras.saving.register_keras_serializable("genzoo")
class DCGAN(GAN):
    """The game with DCGAN networks (Radford et al. 2016) sized from the spec.

    20x20 starts from 5x5 (two doublings), 40x40 from 5x5 (three), 28x28 from 7x7,
    32x32 from 4x4. A gradient-penalised critic (`loss="wgan_gp"`) gets layer norm,
    since batch norm makes each example's score depend on the others.
    """

    architecture = "dcgan"

    def build_generator(self, name):
        return dcgan_generator(self.latent_dim, self.image_shape, self.filters, self.num_classes, name)

    def build_discriminator(self):
        norm = "layer" if self.gan_loss.gradient_penalty else "batch"
        return dcgan_discriminator(self.image_shape, self.filters, self.num_classes, norm,
                                   classifier=bool(self.aux_weight))


@register("cgan")
@keras.saving.register_keras_serializable("genzoo")
class ConditionalGAN(DCGAN):
    """DCGAN with the class label embedded into the generator's code (Mirza & Osindero
    2014), a projection discriminator (Miyato & Koyama 2018) and, by default, an
    auxiliary classifier (Odena et al. 2017).

    The class head is on by default because the projection alone conditioned weakly on
    `shapes`: after 600 steps samples showed the requested shape 29-35% of the time
    (chance 25%), with the class head 42-60% (docs/gan.md).
    """

    conditional = True
    default_aux_weight = 1.0  # Odena et al. 2017 weigh L_S and L_C equally
