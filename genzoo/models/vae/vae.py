"""Variational autoencoder and conditional VAE.

References:
  Kingma & Welling, *Auto-Encoding Variational Bayes*, 2013 (ELBO, reparameterisation).
  Sohn, Lee & Yan, *Learning Structured Output Representation using Deep Conditional
  Generative Models*, 2015 (the conditional VAE: label given to encoder and decoder).
  Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, 2016 (the k-sample bound).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from genzoo.distribute import global_mean, replica_slice
from genzoo.errors import UserError
from genzoo.losses import (
    kl_divergence,
    reparameterised_log_prob,
    standard_normal_log_prob,
)
from genzoo.models import capabilities, likelihoods
from genzoo.models.base import GenerativeModel, require_positive, seed_pair
from genzoo.models.code_space import CodeSpaceWalks
from genzoo.models.registry import register
from genzoo.models.vae.networks import conv_decoder, conv_encoder


@register("vae")
@keras.saving.register_keras_serializable("genzoo")
class VAE(GenerativeModel, capabilities.Encoder, CodeSpaceWalks, capabilities.LikelihoodBound):
    """Convolutional VAE with a diagonal Gaussian posterior and an N(0, I) prior.

    Args:
      spec: the `DatasetSpec` of the encoded images (picks the pixel likelihood:
        categorical over the palette, Bernoulli, or discretised logistic for RGB).
      latent_dim: size of z.
      filters: channels of the first convolution (doubling at each halving).
      hidden: width of the dense layer between convolutions and z.
      beta: weight of the KL term (1 is the ELBO; beta-VAE otherwise).
      kl_warmup_steps: the KL weight rises linearly from 0 to `beta` over these steps
        (Bowman et al. 2016): early on, the decoder would otherwise learn to ignore z.
        `elbo` and `bits_per_dim` always report the true bound.
      seed: base seed of the training noise.
    """

    metric_names = ("loss", "reconstruction", "kl", "elbo", "bits_per_dim")
    default_learning_rate = 2e-3

    def __init__(self, spec, latent_dim: int = 32, filters: int = 32, hidden: int = 256,
                 beta: float = 1.0, kl_warmup_steps: int = 400, seed: int = 0, **kwargs):
        super().__init__(spec, seed, **kwargs)
        require_positive(latent_dim=latent_dim, filters=filters, hidden=hidden)
        if beta < 0 or kl_warmup_steps < 0:
            raise UserError(f"beta and kl_warmup_steps must be >= 0, got {beta}, {kl_warmup_steps}")
        if self.conditional and self.spec.num_classes < 2:
            raise UserError(f"{type(self).__name__} needs a labelled dataset; {self.spec.name!r} has no labels")
        self.latent_dim, self.filters, self.hidden = latent_dim, filters, hidden
        self.beta, self.kl_warmup_steps = float(beta), int(kl_warmup_steps)
        self.likelihood = likelihoods.for_spec(self.spec)
        classes = self.spec.num_classes if self.conditional else 0
        # === Layers ===
        self.encoder = conv_encoder(self.spec, 2 * latent_dim, filters, hidden, classes)
        self.decoder = conv_decoder(self.spec, latent_dim, self.likelihood.num_params, filters, hidden, classes)
        self.built = True

    # === Model ===
    def _with_label(self, x, labels):
        if not self.conditional:
            return x
        return [x, tf.one_hot(tf.cast(labels, tf.int32), self.spec.num_classes)]

    def encode(self, images, labels=None):
        """q(z | x): returns (mean, log_var)."""
        # Likelihoods and the KL are computed in float32 under mixed precision.
        stats = tf.cast(self.encoder(self._with_label(images, labels)), tf.float32)
        mean, log_var = tf.split(stats, 2, axis=-1)
        return mean, log_var

    def decoder_params(self, z, labels=None):
        """p(x | z): per-pixel likelihood parameters."""
        return tf.cast(self.decoder(self._with_label(z, labels)), tf.float32)

    def decode(self, z, labels=None):
        """Codes -> encoded images: each pixel the decoder's most likely value."""
        z = tf.convert_to_tensor(z, tf.float32)
        return self.likelihood.mode(self.decoder_params(z, self.labels_for(tf.shape(z)[0], labels)))

    def call(self, data):
        """Reconstruction parameters at the posterior mean (deterministic)."""
        mean, _ = self.encode(data["image"], data.get("label"))
        return self.decoder_params(mean, data.get("label"))

    def reconstruct(self, images, labels=None):
        mean, _ = self.encode(images, labels)
        return self.likelihood.mode(self.decoder_params(mean, labels))

    def sample_codes(self, num, seed):
        return tf.random.stateless_normal([num, self.latent_dim], seed_pair(seed, 0))

    def sample(self, num, seed, labels=None, temperature=1.0, *, pixel_noise: bool = False):
        """Decodes z ~ N(0, I). Without `pixel_noise`, each pixel is the decoder's most likely value."""
        self.check_temperature(temperature)
        params = self.decoder_params(self.sample_codes(num, seed), self.labels_for(num, labels))
        return self.likelihood.sample(params, seed_pair(seed, 1)) if pixel_noise else self.likelihood.mode(params)

    # === ELBO ===
    def elbo_terms(self, images, labels, seed):
        """Per-example reconstruction log-likelihood and KL, one reparameterised z each."""
        mean, log_var = self.encode(images, labels)
        eps = replica_slice(
            lambda n: tf.random.stateless_normal([n, self.latent_dim], seed), tf.shape(mean)[0]
        )
        z = mean + tf.exp(0.5 * log_var) * eps  # reparameterisation: gradients flow to mean, log_var
        reconstruction = self.likelihood.log_prob(self.decoder_params(z, labels), images)
        return reconstruction, kl_divergence(mean, log_var)

    def elbo(self, images, labels=None, seed=0):
        """The ELBO per image, in nats, from one posterior sample per image."""
        reconstruction, kl = self.elbo_terms(images, labels, seed_pair(seed, 3))
        return reconstruction - kl

    def kl_weight(self):
        if not self.kl_warmup_steps:
            return tf.constant(self.beta)
        progress = tf.cast(self.optimizer.iterations + 1, tf.float32) / self.kl_warmup_steps
        return self.beta * tf.minimum(1.0, progress)

    def _report(self, reconstruction, kl, loss):
        elbo = reconstruction - kl
        return self.track({
            "loss": loss, "reconstruction": -reconstruction, "kl": kl, "elbo": elbo,
            "bits_per_dim": -elbo / (self.spec.num_dims * math.log(2.0)),
        })

    def train_step(self, data):
        with tf.GradientTape() as tape:
            reconstruction, kl = self.elbo_terms(data["image"], data["label"], self.step_seed())
            per_example = -reconstruction + self.kl_weight() * kl
            loss = global_mean(per_example)
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._report(reconstruction, kl, per_example)

    def test_step(self, data):
        reconstruction, kl = self.elbo_terms(data["image"], data["label"], seed_pair(self.seed, -1))
        return self._report(reconstruction, kl, -reconstruction + self.beta * kl)

    def importance_weighted_bound(self, images, labels=None, num_samples: int = 64, seed: int = 0):
        """log p(x) >= log 1/k sum_i p(x, z_i) / q(z_i | x), z_i ~ q (Burda et al. 2016, eq. 8).

        Per example, in nats; k = 1 is the ELBO, and the bound tightens as k grows.
        """
        mean, log_var = self.encode(images, labels)
        batch = tf.shape(mean)[0]
        eps = tf.random.stateless_normal([num_samples, batch, self.latent_dim], seed_pair(seed, 2))
        z = mean + tf.exp(0.5 * log_var) * eps
        flat_z = tf.reshape(z, [-1, self.latent_dim])
        repeat = lambda t: tf.reshape(tf.tile(t[None], [num_samples] + [1] * len(t.shape)), [-1, *t.shape[1:]])
        flat_labels = None if labels is None else repeat(tf.convert_to_tensor(labels))
        log_px_z = self.likelihood.log_prob(self.decoder_params(flat_z, flat_labels), repeat(tf.convert_to_tensor(images)))
        log_weights = (
            tf.reshape(log_px_z, [num_samples, batch])
            + standard_normal_log_prob(z)
            - reparameterised_log_prob(eps, log_var)
        )
        return tf.reduce_logsumexp(log_weights, axis=0) - math.log(num_samples)

    def get_config(self):
        return {
            **super().get_config(), "latent_dim": self.latent_dim, "filters": self.filters,
            "hidden": self.hidden, "beta": self.beta, "kl_warmup_steps": self.kl_warmup_steps,
        }


@register("cvae")
@keras.saving.register_keras_serializable("genzoo")
class ConditionalVAE(VAE, capabilities.Conditional):
    """The VAE with the class label (one-hot) given to both encoder and decoder."""
