"""Variational autoencoder and conditional VAE.

References:
  Kingma & Welling, *Auto-Encoding Variational Bayes*, 2013 (ELBO, reparameterisation).
  Sohn, Lee & Yan, *Learning Structured Output Representation using Deep Conditional
  Generative Models*, 2015 (the conditional VAE: label given to encoder and decoder).
  Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, 2016 (the k-sample bound).
  Kingma et al., *Improved Variational Inference with Inverse Autoregressive Flow*, 2016
    (free bits, appendix C.8).
  Gulrajani et al., *PixelVAE: A Latent Variable Model for Natural Images*, 2017 (the
    autoregressive decoder).
  Salimans et al., *PixelCNN++*, 2017 (the mixture of discretised logistics).
"""

from __future__ import annotations

import math
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf

from genzoo.distribute import global_mean, replica_slice
from genzoo.errors import UserError
from genzoo.losses import (
    free_bits_kl,
    kl_per_dimension,
    normal_log_prob,
    reparameterised_log_prob,
    standard_normal_log_prob,
)
from genzoo.models import capabilities, likelihoods
from genzoo.models.base import GenerativeModel, dense_gradients, require_positive, seed_pair
from genzoo.models.code_space import CodeSpaceWalks
from genzoo.models.registry import register
from genzoo.models.vae import code_mixture as mixture_fit
from genzoo.models.vae import pixel_sampler
from genzoo.models.vae.networks import conv_decoder, conv_encoder, pixel_head

# Free bits (nats per latent dimension) with the PixelVAE decoder when `free_bits` is not given:
# without them its masked layers drew `shapes` alone and the code went unused (KL 0.01 nats,
# reconstructions unrelated to their images); with them KL 14 nats on shapes, 17.5 on pokemon,
# where the bound rose from 2.607 to 2.656 bits/px at epoch 30 (docs/vae.md).
PIXEL_FREE_BITS = 0.5

# Logistic components per RGB pixel when `mixture` is not given (docs/vae.md: on pokemon40 a
# 5-component mixture reached a lower held-out bound than one logistic per channel).
DEFAULT_MIXTURE = 5


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
      blocks: residual blocks after the first convolution and each resolution change
        of encoder and decoder (0: plain strided convolutions).
      dropout: dropout rate inside the residual blocks and before the encoder's dense layer.
      free_bits: nats per latent dimension and example that the training loss does not
        charge (Kingma et al. 2016): the loss takes max(free_bits, KL_j) per dimension.
        Reported metrics are always the true bound. None: `PIXEL_FREE_BITS` with the PixelVAE
        decoder, else 0.
      log_var_bound: the encoder's log-variance is `bound * tanh(raw / bound)` (0: unbounded).
        Unbounded, one Adam step at the default learning rate moved a cvae's log-variance on
        RGB data from 1 to 19 (KL 2e7 nats), and the run never recovered (docs/vae.md).
      pixel_layers: 0 for the plain decoder (pixels independent given z); N > 0 adds
        the PixelVAE decoder (Gulrajani et al. 2017): a 7x7 mask-A and N - 1 residual
        3x3 mask-B convolutions over the image, conditioned on the decoder's feature map.
        Palette and binary images only. None: `default_pixel_layers` (4) on palette and
        binary images, 0 on RGB.
      pixel_filters: channels of those masked convolutions.
      mixture: RGB only: 0 for one discretised logistic per channel; K > 0 for a mixture of
        K discretised logistics per pixel with coupled channels (Salimans et al. 2017).
        None: `DEFAULT_MIXTURE` components on RGB images, 0 on others.
      label_maps: conditional models: the one-hot label also enters every decoder
        resolution as constant channels.
      class_prior: conditional models: the prior p(z | y) is a Gaussian per class with a learned
        mean and log-variance (Sohn et al. 2015's prior network, here a table over the labels),
        instead of N(0, I) for every class; the KL is taken against it and samples draw z from
        it. None: `default_class_prior`.
      code_mixture: K > 0: `sample` and the code-space walks draw z from a mixture of K diagonal
        Gaussians per class (one group for the `vae`) fitted to the training images' codes
        (posterior means) at the end of every training epoch (`fit_code_mixture`; ex-post density estimation,
        Ghosh et al. 2020), not from the prior; at most one component per
        `code_mixture.IMAGES_PER_COMPONENT` images of a class. The bounds are the trained
        model's, with its prior. 0: z from the prior. None: `default_code_mixture`.
      label_dropout: conditional models: the probability that training hides an image's label
        from the decoder (an all-zero one-hot), so the same decoder also learns p(x | z) without
        it, the contrast `guidance` needs (Ho & Salimans 2022).
      guidance: conditional models, sampling: classifier-free guidance scale s. The decoder's
        logits are l(x | z) + s (l(x | z, y) - l(x | z)) at each pixel; 1 is the plain
        conditional decoder, above 1 pushes samples towards what tells their class apart.
        Needs `label_dropout` > 0 and palette or binary images (logits); decoding, reconstruction
        and sampling use it, the bounds do not.
      seed: base seed of the training noise.
    """

    metric_names = ("loss", "reconstruction", "kl", "elbo", "bits_per_dim")
    default_learning_rate = 2e-3
    # The PixelVAE decoder by default on palette and binary images: on pokemon its held-out bound
    # is 2.53 bits/px against the plain decoder's 4.06 (docs/vae.md), and its cached sampler
    # (`pixel_sampler`) draws 500 sprites in about a second.
    default_pixel_layers = 4
    default_class_prior = False
    # z from the prior: on pokemon the fitted mixture did not change the samples (C2ST 0.827
    # against 0.833, 3 seeds, docs/vae.md); the cvae draws from it by default.
    default_code_mixture = 0

    def __init__(self, spec, latent_dim: int = 32, filters: int = 32, hidden: int = 256,
                 beta: float = 1.0, kl_warmup_steps: int = 400, blocks: int = 0, dropout: float = 0.0,
                 free_bits: float | None = None, log_var_bound: float = 8.0, pixel_layers: int | None = None,
                 pixel_filters: int = 32, mixture: int | None = None, label_maps: bool = False,
                 class_prior: bool | None = None, label_dropout: float = 0.0, guidance: float = 1.0,
                 code_mixture: int | None = None, seed: int = 0,
                 **kwargs):
        super().__init__(spec, seed, **kwargs)
        self.label_dropout = float(label_dropout)  # first: `capabilities()` (so `conditional`) reads it
        require_positive(latent_dim=latent_dim, filters=filters, hidden=hidden, pixel_filters=pixel_filters)
        if beta < 0 or kl_warmup_steps < 0:
            raise UserError(f"beta and kl_warmup_steps must be >= 0, got {beta}, {kl_warmup_steps}")
        if mixture is None:
            mixture = DEFAULT_MIXTURE if self.spec.encoding == "rgb" else 0
        if pixel_layers is None:
            pixel_layers = self.default_pixel_layers if self.spec.encoding != "rgb" else 0
        if free_bits is None:
            free_bits = PIXEL_FREE_BITS if pixel_layers else 0.0
        for name, value in (("blocks", blocks), ("free_bits", free_bits), ("log_var_bound", log_var_bound),
                            ("pixel_layers", pixel_layers), ("mixture", mixture)):
            if value < 0:
                raise UserError(f"{name} must be >= 0, got {value}")
        if not 0 <= dropout < 1:
            raise UserError(f"dropout must lie in [0, 1), got {dropout}")
        if pixel_layers and self.spec.encoding == "rgb":
            raise UserError("pixel_layers (the PixelVAE decoder) takes palette or binary images; "
                            f"{self.spec.name!r} is rgb (use --encoding=palette or binary, or pixel_layers=0)")
        if mixture and self.spec.encoding != "rgb":
            raise UserError(f"mixture (of discretised logistics) is for rgb images; {self.spec.name!r} is "
                            f"{self.spec.encoding}")
        if self.conditional and self.spec.num_classes < 2:
            raise UserError(f"{type(self).__name__} needs a labelled dataset; {self.spec.name!r} has no labels")
        class_prior = self.default_class_prior if class_prior is None else class_prior
        if not isinstance(class_prior, bool):
            raise UserError(f"class_prior must be true or false, got {class_prior!r}")
        if class_prior and not self.conditional:
            raise UserError(f"class_prior needs a conditional model (cvae); {type(self).__name__} has no labels")
        if (label_dropout or guidance != 1.0) and not self.conditional:
            raise UserError(f"label_dropout and guidance need a conditional model (cvae); "
                            f"{type(self).__name__} has no labels")
        if not 0 <= label_dropout < 1:
            raise UserError(f"label_dropout must lie in [0, 1), got {label_dropout}")
        check_guidance(guidance)
        if guidance != 1.0 and not label_dropout:
            raise UserError("guidance needs label_dropout > 0: the decoder without labels that it "
                            "contrasts with is trained by hiding labels")
        if guidance != 1.0 and self.spec.encoding == "rgb":
            raise UserError(f"guidance mixes logits (palette or binary images); {self.spec.name!r} is rgb")
        self.latent_dim, self.filters, self.hidden = latent_dim, filters, hidden
        self.beta, self.kl_warmup_steps = float(beta), int(kl_warmup_steps)
        self.blocks, self.dropout, self.free_bits = int(blocks), float(dropout), float(free_bits)
        self.log_var_bound = float(log_var_bound)
        self.pixel_layers, self.pixel_filters = int(pixel_layers), int(pixel_filters)
        self.mixture, self.label_maps, self.class_prior = int(mixture), bool(label_maps), class_prior
        self.guidance = float(guidance)
        code_mixture = self.default_code_mixture if code_mixture is None else code_mixture
        if isinstance(code_mixture, bool) or not isinstance(code_mixture, int) or code_mixture < 0:
            raise UserError(f"code_mixture must be a whole number >= 0, got {code_mixture!r}")
        self.code_mixture = code_mixture
        self.likelihood = likelihoods.for_spec(self.spec, mixture=self.mixture)
        classes = self.spec.num_classes if self.conditional else 0
        # === Layers ===
        self.encoder = conv_encoder(self.spec, 2 * latent_dim, filters, hidden, classes,
                                    blocks=self.blocks, dropout=self.dropout)
        self.decoder = conv_decoder(
            self.spec, latent_dim, 0 if self.pixel_layers else self.likelihood.num_params, filters, hidden,
            classes, blocks=self.blocks, dropout=self.dropout, label_maps=self.label_maps)
        self.pixel_decoder = (pixel_head(self.spec, filters, self.likelihood.num_params, self.pixel_filters,
                                         self.pixel_layers) if self.pixel_layers else None)
        # One row per class: [mean, raw log-variance]. Zeros: training starts from N(0, I).
        self.prior_table = None
        if self.class_prior:
            self.prior_table = keras.layers.Embedding(classes, 2 * latent_dim, embeddings_initializer="zeros",
                                                      dtype="float32", name="class_prior")
            self.prior_table.build((None,))
        if self.code_mixture:
            self._make_code_mixture(max(classes, 1))
        self.built = True

    def _make_code_mixture(self, groups: int):
        # Unfitted (`code_fitted` 0), z comes from the prior.
        shape = (groups, self.code_mixture)
        weight = lambda name, shape: self.add_weight(shape=shape, initializer="zeros", dtype="float32",
                                                     trainable=False, name=name)
        self.code_log_weights = weight("code_log_weights", shape)
        self.code_means = weight("code_means", (*shape, self.latent_dim))
        self.code_log_vars = weight("code_log_vars", (*shape, self.latent_dim))
        self.code_fitted = weight("code_fitted", ())

    @property
    def autoregressive(self) -> bool:
        """Whether the decoder is the PixelVAE's (pixels drawn one after another given z)."""
        return self.pixel_decoder is not None

    # Temperature scales the decoder's pixel noise (categorical/Bernoulli logits / T,
    # logistic scales x T); 0 gives each pixel's most likely value. z is always drawn at T = 1.
    tempered = True

    # === Model ===
    def _with_label(self, x, labels, keep=None):
        """`x` and the one-hot labels; `keep` [B] (1 or 0) hides the labels of the images at 0."""
        if not self.conditional:
            return x
        one_hot = tf.one_hot(tf.cast(labels, tf.int32), self.spec.num_classes)
        if keep is not None:
            one_hot = one_hot * tf.cast(keep, one_hot.dtype)[:, None]
        return [x, one_hot]

    def encode(self, images, labels=None, training=False):
        """q(z | x): returns (mean, log_var)."""
        # Likelihoods and the KL are computed in float32 under mixed precision.
        stats = tf.cast(self.encoder(self._with_label(images, labels), training=training), tf.float32)
        mean, log_var = tf.split(stats, 2, axis=-1)
        return mean, self._bounded(log_var)

    def _bounded(self, log_var):
        """`log_var_bound * tanh(log_var / log_var_bound)` (unchanged when the bound is 0)."""
        return self.log_var_bound * tf.tanh(log_var / self.log_var_bound) if self.log_var_bound else log_var

    def prior(self, labels=None):
        """p(z | labels) as (mean, log_var) `[N, latent_dim]`; None when it is N(0, I) for every image."""
        if self.prior_table is None:
            return None
        mean, log_var = tf.split(self.prior_table(tf.cast(labels, tf.int32)), 2, axis=-1)
        return mean, self._bounded(log_var)

    def decoder_params(self, z, labels=None, images=None, training=False, keep=None):
        """p(x | z): per-pixel likelihood parameters.

        The PixelVAE decoder's parameters at a pixel depend on the earlier pixels too:
        it needs the `images` they come from (teacher forcing).
        """
        out = self.decoder(self._with_label(z, labels, keep), training=training)
        if self.autoregressive:
            if images is None:
                raise UserError("the PixelVAE decoder's parameters need the images (teacher forcing)")
            out = self.pixel_decoder([images, out], training=training)
        return tf.cast(out, tf.float32)

    def decode(self, z, labels=None):
        """Codes -> encoded images.

        Plain decoder: each pixel the decoder's most likely value given z. PixelVAE decoder:
        pixels drawn one after another at temperature 1 with a fixed seed (0), so the same z
        always gives the same image (its per-pixel greedy decoding collapses to flat colour).
        """
        z = tf.convert_to_tensor(z, tf.float32)
        labels = self.labels_for(tf.shape(z)[0], labels)
        if self.autoregressive:
            return self._run_pixels(z, labels, 0, 1.0)
        return self.likelihood.mode(self.guided_params(z, labels))

    def call(self, data):
        """Reconstruction parameters at the posterior mean (deterministic, teacher-forced)."""
        mean, _ = self.encode(data["image"], data.get("label"))
        return self.decoder_params(mean, data.get("label"), data["image"])

    def reconstruct(self, images, labels=None):
        mean, _ = self.encode(images, labels)
        if self.autoregressive:
            return self._run_pixels(mean, labels, 0, 1.0)
        return self.likelihood.mode(self.guided_params(mean, labels))

    def sample_codes(self, num, seed, labels=None):
        """z from the prior, or from the fitted code mixture (`code_mixture`) once fitted."""
        labels = self.labels_for(num, labels)
        eps = tf.random.stateless_normal([num, self.latent_dim], seed_pair(seed, 0))
        prior = self.prior(labels)
        z = eps if prior is None else prior[0] + tf.exp(0.5 * prior[1]) * eps
        if not self.code_mixture:
            return z
        group = labels if labels is not None else tf.zeros([num], tf.int32)
        logits = tf.gather(self.code_log_weights, group)
        component = tf.random.stateless_categorical(logits, 1, seed_pair(seed, 2), dtype=tf.int32)[:, 0]
        index = tf.stack([group, component], axis=-1)
        fitted = tf.gather_nd(self.code_means, index) + tf.exp(0.5 * tf.gather_nd(self.code_log_vars, index)) * eps
        return tf.where(self.code_fitted > 0, fitted, z)

    def end_epoch(self, train_ds):
        if self.code_mixture:
            self.fit_code_mixture(train_ds)

    def fit_code_mixture(self, dataset, seed: int = 0) -> None:
        """Fits the code mixture to the posterior means of `dataset`'s images (unbatched examples with
        `image` and, for a cvae, `label`; the first `code_mixture.MAX_IMAGES`); each class apart.

        A class without images keeps one component: its prior.
        """
        if not self.code_mixture:
            raise UserError("fit_code_mixture needs code_mixture > 0")
        means, labels = [], []
        for batch in dataset.take(mixture_fit.MAX_IMAGES).batch(256):
            label = batch["label"] if self.conditional else None
            means.append(self.encode(batch["image"], label)[0].numpy())
            labels.append(np.zeros(len(means[-1]), np.int64) if label is None else label.numpy())
        means, labels = np.concatenate(means), np.concatenate(labels)
        groups, k, d = self.code_means.shape
        table = [np.full((groups, k), -1e9), np.zeros((groups, k, d)), np.zeros((groups, k, d))]
        for g in range(groups):
            chosen = labels == g
            if chosen.any():
                fitted = mixture_fit.fit(means[chosen], k, seed=seed + g)
            else:
                prior = self.prior(tf.constant([g])) if self.conditional else None
                prior = [np.zeros((1, d)), np.zeros((1, d))] if prior is None else [p.numpy() for p in prior]
                fitted = (np.zeros(1), *prior)
            used = len(fitted[0])
            for table_part, part in zip(table, fitted):
                table_part[g, :used] = part
        for variable, value in zip((self.code_log_weights, self.code_means, self.code_log_vars), table):
            variable.assign(value.astype(np.float32))
        self.code_fitted.assign(1.0)

    def sample(self, num, seed, labels=None, temperature=1.0, *, pixel_noise: bool | None = None):
        """Draws z (`sample_codes`) and then the pixels from p(x | z) at `temperature`.

        z comes from the prior (the requested class's with `class_prior`), or from the code
        mixture once fitted (`code_mixture`).
        Temperature 1 is the model's own distribution, 0 each pixel's most likely value
        (the mode of the plain decoder; greedy decoding for the PixelVAE).
        `pixel_noise=False` is the older spelling of temperature 0.
        """
        self.check_temperature(temperature)
        if pixel_noise is False:
            temperature = 0.0
        labels = self.labels_for(num, labels)
        z = self.sample_codes(num, seed, labels)
        if self.autoregressive:
            return self._run_pixels(z, labels, seed, temperature)
        return self.likelihood.sample_tempered(self.guided_params(z, labels), seed_pair(seed, 1), temperature)

    # === Guidance ===
    def set_guidance(self, scale: float) -> None:
        """The `Guided` capability (a `cvae` trained with `label_dropout`): the scale from now on."""
        check_guidance(scale)
        if not self.label_dropout:
            raise UserError("guidance needs a cvae trained with label_dropout > 0")
        self.guidance = float(scale)

    @property
    def guided(self) -> bool:
        return self.guidance != 1.0

    def guide(self, conditional, unconditional):
        """Classifier-free guidance of logits: l_u + s (l_c - l_u)."""
        return unconditional + self.guidance * (conditional - unconditional)

    def guided_params(self, z, labels):
        """The plain decoder's parameters at codes `z`, guided when `guidance` != 1."""
        params = self.decoder_params(z, labels)
        if not self.guided:
            return params
        return self.guide(params, self.decoder_params(z, labels, keep=tf.zeros(tf.shape(z)[:1])))

    def pixel_features(self, z, labels):
        """The PixelVAE's conditioning features `[B, H, W, F]`; with guidance, those with the labels
        and those without, side by side `[B, H, W, 2F]` (so a batch can be cut into slices)."""
        features = self.decoder(self._with_label(z, labels))
        if not self.guided:
            return features
        hidden = self.decoder(self._with_label(z, labels, tf.zeros(tf.shape(z)[:1])))
        return tf.concat([features, hidden], axis=-1)

    # === PixelVAE sampling ===
    def receptive_rows(self) -> int:
        """Rows above a pixel that the masked stack sees: 3 (the 7x7 mask A) + 1 per mask-B layer."""
        return 3 + (self.pixel_layers - 1)

    def pixel_params_at(self, images, features, row, col):
        """Parameters `[B, 1, 1, P]` of pixel (row, col) given the earlier pixels of `images`.

        Runs the masked stack on rows row - R .. row only (R = `receptive_rows`): the rows
        above the crop cannot reach the pixel, and its wrong top-padding reaches at most R
        rows down, so the result equals the full-image pass (a test checks).
        """
        height = min(self.spec.height, self.receptive_rows() + 1)
        top = tf.maximum(0, row - (height - 1))
        crop = lambda t: t[:, top:top + height]
        params = self.pixel_decoder([crop(images), crop(features)])
        return tf.cast(params[:, row - top:row - top + 1, col:col + 1], tf.float32)

    def _pixels(self, z, labels, seed, temperature):
        """Pixels drawn with per-layer caches (`pixel_sampler`): one position of each layer per step."""
        return pixel_sampler.sample(self, self.pixel_features(z, labels), seed, temperature)

    # The compiled samplers take the guidance scale as a Python number: it keys their traces, so
    # a scale set later (`set_guidance`) traces anew instead of reusing a graph with the old one.
    @tf.function(jit_compile=True, autograph=False)
    def pixel_loop_compiled(self, features, uniform, temperature, guidance):
        return pixel_sampler.loop(self, features, uniform, temperature)

    def _naive_pixels(self, z, labels, seed, temperature):
        """The reference sampler: the masked stack re-run on a crop for every pixel."""
        features = self.pixel_features(z, labels)
        num = tf.shape(z)[0]
        height, width = self.spec.height, self.spec.width
        shape = tf.concat([[num], tf.constant(self.spec.image_shape)], 0)
        images = tf.zeros(shape, self.spec.image_dtype)
        cells = tf.reshape(tf.range(height * width), [1, height, width] + [1] * (len(self.spec.image_shape) - 2))

        def body(step, images):
            row, col = step // width, step % width
            if self.guided:
                conditional, unconditional = tf.split(features, 2, axis=-1)
                params = self.guide(self.pixel_params_at(images, conditional, row, col),
                                    self.pixel_params_at(images, unconditional, row, col))
            else:
                params = self.pixel_params_at(images, features, row, col)
            value = self.likelihood.sample_tempered(params, seed_pair(seed, 1 + step), temperature)
            # value is [B, 1, 1(, 1)]: broadcast it into the one cell being drawn.
            return step + 1, tf.where(tf.equal(cells, step), value, images)

        _, images = tf.while_loop(lambda step, _: step < height * width, body, (tf.constant(0), images))
        return images

    @tf.function(reduce_retracing=True, autograph=False)
    def _pixels_compiled(self, z, labels, seed, temperature, guidance):
        return self._pixels(z, labels, seed, temperature)

    @tf.function(reduce_retracing=True, autograph=False)
    def _naive_pixels_compiled(self, z, labels, seed, temperature, guidance):
        return self._naive_pixels(z, labels, seed, temperature)

    def _run_pixels(self, z, labels, seed, temperature, naive: bool = False):
        # Eagerly: one traced loop per shape; inside a caller's tf.function (serving): inline.
        args = (tf.convert_to_tensor(z, tf.float32), labels, tf.cast(seed, tf.int64), tf.cast(temperature, tf.float32))
        if not tf.executing_eagerly():
            return (self._naive_pixels if naive else self._pixels)(*args)
        return (self._naive_pixels_compiled if naive else self._pixels_compiled)(*args, self.guidance)

    def naive_sample(self, num, seed, labels=None, temperature=1.0):
        """`sample` through the reference sampler (the masked stack re-run per pixel): for tests
        and benchmarks of the cached one."""
        if not self.autoregressive:
            raise UserError("naive_sample is for the PixelVAE decoder (pixel_layers > 0)")
        labels = self.labels_for(num, labels)
        return self._run_pixels(self.sample_codes(num, seed, labels), labels, seed, temperature, naive=True)

    # === ELBO ===
    def posterior_terms(self, images, labels, seed, training=False):
        """Per-example reconstruction log-likelihood at one reparameterised z each, the
        posterior's (mean, log_var) and the prior (`prior(labels)`)."""
        mean, log_var = self.encode(images, labels, training=training)
        eps = replica_slice(
            lambda n: tf.random.stateless_normal([n, self.latent_dim], seed), tf.shape(mean)[0]
        )
        z = mean + tf.exp(0.5 * log_var) * eps  # reparameterisation: gradients flow to mean, log_var
        keep = self.label_keep(seed, tf.shape(mean)[0]) if training and self.label_dropout else None
        params = self.decoder_params(z, labels, images, training=training, keep=keep)
        return self.likelihood.log_prob(params, images), (mean, log_var), self.prior(labels)

    def label_keep(self, seed, batch):
        """1 where the decoder sees the label in a training step, 0 where `label_dropout` hides it
        `[batch]`; drawn for the global batch, so the same whatever the replicas."""
        seed = tf.random.experimental.stateless_fold_in(seed, 1)
        uniform = replica_slice(lambda n: tf.random.stateless_uniform([n], seed), batch)
        return tf.cast(uniform >= self.label_dropout, tf.float32)

    def elbo_terms(self, images, labels, seed, training=False):
        """Per-example reconstruction log-likelihood and per-dimension KL `[B, latent_dim]`,
        one reparameterised z each."""
        reconstruction, posterior, prior = self.posterior_terms(images, labels, seed, training)
        return reconstruction, kl_per_dimension(*posterior, prior)

    def charged_kl(self, posterior, prior):
        """The KL the training loss charges per example: free bits on the encoder's side.

        The class prior learns from the unclamped KL: with free bits, a dimension below the
        threshold would give it no gradient, and it would stay N(0, I) where codes are free.
        The extra term's value is 0; with `free_bits` 0 the gradients are the plain KL's.
        """
        if prior is None:
            return free_bits_kl(kl_per_dimension(*posterior), self.free_bits)
        fixed_prior = [tf.stop_gradient(t) for t in prior]
        fit = tf.reduce_sum(kl_per_dimension(*[tf.stop_gradient(t) for t in posterior], prior), axis=-1)
        return free_bits_kl(kl_per_dimension(*posterior, fixed_prior), self.free_bits) + fit - tf.stop_gradient(fit)

    def elbo(self, images, labels=None, seed=0):
        """The ELBO per image, in nats, from one posterior sample per image."""
        reconstruction, kl = self.elbo_terms(images, labels, seed_pair(seed, 3))
        return reconstruction - tf.reduce_sum(kl, axis=-1)

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
            reconstruction, posterior, prior = self.posterior_terms(
                data["image"], data["label"], self.step_seed(), training=True)
            kl = kl_per_dimension(*posterior, prior)
            per_example = -reconstruction + self.kl_weight() * self.charged_kl(posterior, prior)
            loss = global_mean(per_example)
            scaled = self.optimizer.scale_loss(loss)
        gradients = dense_gradients(tape.gradient(scaled, self.trainable_variables))
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._report(reconstruction, tf.reduce_sum(kl, axis=-1), per_example)

    def test_step(self, data):
        reconstruction, kl = self.elbo_terms(data["image"], data["label"], seed_pair(self.seed, -1))
        kl = tf.reduce_sum(kl, axis=-1)
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
        flat_images = repeat(tf.convert_to_tensor(images))
        log_px_z = self.likelihood.log_prob(self.decoder_params(flat_z, flat_labels, flat_images), flat_images)
        log_weights = (
            tf.reshape(log_px_z, [num_samples, batch])
            + self._prior_log_prob(z, labels)
            - reparameterised_log_prob(eps, log_var)
        )
        return tf.reduce_logsumexp(log_weights, axis=0) - math.log(num_samples)

    def _prior_log_prob(self, z, labels):
        """log p(z | labels) of codes `[..., N, latent_dim]`."""
        prior = self.prior(labels)
        return standard_normal_log_prob(z) if prior is None else normal_log_prob(z, *prior)

    # A config saved before these hyper-parameters existed rebuilds the network it was trained
    # with: unbounded log-variance, one logistic per RGB channel.
    LEGACY_DEFAULTS: ClassVar[dict] = {"log_var_bound": 0.0, "mixture": 0, "pixel_layers": 0}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "pixel_layers" not in config:  # written before genzoo had the PixelVAE options
            for key, value in cls.LEGACY_DEFAULTS.items():
                config.setdefault(key, value)
        config.setdefault("class_prior", False)  # written before the class prior existed
        config.setdefault("code_mixture", 0)  # written before the code mixture existed
        return cls(**config)

    def get_config(self):
        return {
            **super().get_config(), "latent_dim": self.latent_dim, "filters": self.filters,
            "hidden": self.hidden, "beta": self.beta, "kl_warmup_steps": self.kl_warmup_steps,
            "blocks": self.blocks, "dropout": self.dropout, "free_bits": self.free_bits,
            "log_var_bound": self.log_var_bound, "pixel_layers": self.pixel_layers,
            "pixel_filters": self.pixel_filters, "mixture": self.mixture, "label_maps": self.label_maps,
            "class_prior": self.class_prior, "label_dropout": self.label_dropout, "guidance": self.guidance,
            "code_mixture": self.code_mixture,
        }


def check_guidance(scale) -> None:
    if not scale >= 0:  # NaN too
        raise UserError(f"guidance must be >= 0, got {scale}")


@register("cvae")
@keras.saving.register_keras_serializable("genzoo")
class ConditionalVAE(VAE, capabilities.Guided):
    """The VAE with the class label (one-hot) given to both encoder and decoder.

    `Guided` only when trained with `label_dropout` (its decoder also knows p(x | z) then).
    """

    # At 2e-3 a 100-epoch run on shapes blew up at epoch 52 (KL 3.6M nats); at 1e-3 it trained
    # through 100 epochs to a lower bound, and pokemon40 matched 2e-3 at epoch 16 (docs/vae.md).
    default_learning_rate = 1e-3
    # z from the mixture fitted to each class's codes: on shapes 0.905-0.945 of samples drew the
    # requested shape (3 sampling seeds), 0.68 with z from the prior (docs/vae.md).
    default_code_mixture = 10

    def capabilities(self):
        declared = super().capabilities()
        return declared if self.label_dropout else declared - {capabilities.Guided}
