"""What a model can do, declared: the contract between models and everything that uses them.

A capability is a small base class fixing method names and exact signatures. A model
class lists the capabilities it implements among its bases; tools, evaluation,
figures, serving and the benchmarks ask `has(model, Completer)` (or read
`model.capabilities()`), never `hasattr`, a class name or a model name. Serving builds
one signature per capability (`genzoo.serving`), evaluation picks its measurements the
same way, and the contract test checks every declared capability of every registered
model (tests/models/test_contract.py).

Anchors: keras-hub's task classes (`TextToImage`, `Inpaint`: a capability is a base
class that tools and presets understand).

Images are always *encoded* images (see `genzoo.data.DatasetSpec`): palette indices
`[N, H, W]`, or floats in [0, 1] `[N, H, W, C]` for rgb and binary data.
"""

from __future__ import annotations

from typing import ClassVar

import tensorflow as tf


class Capability:
    """Marker base of every capability."""


class Sampler(Capability):
    """Draws new images. Every model is one.

    `tempered` says whether `temperature` changes the samples (autoregressive
    softmax temperature); a sampler that is not tempered refuses any other value
    than 1, and its serving signature takes no `temperature`.
    """

    tempered: ClassVar[bool] = False

    def sample(self, num, seed, labels=None, temperature=1.0) -> tf.Tensor:
        """`num` encoded images; the same seed gives the same images.

        `num`, `seed` and `temperature` may be Python numbers or scalar tensors (serving).
        `labels`: one class per image for `Conditional` models (None cycles the classes).
        """
        raise NotImplementedError


class ExactLikelihood(Capability):
    """Exact log p(x): the autoregressive models."""

    def log_prob(self, images, labels=None) -> tf.Tensor:
        """log p(x) per image, in nats."""
        raise NotImplementedError

    def bits_per_dim(self, nll_nats) -> tf.Tensor:
        """Negative log-likelihood per image (nats) -> bits per dimension."""
        raise NotImplementedError


class LikelihoodBound(Capability):
    """A lower bound on log p(x): the VAEs' ELBO and importance-weighted bound."""

    def elbo(self, images, labels=None, seed=0) -> tf.Tensor:
        """The evidence lower bound per image, in nats, from one posterior sample."""
        raise NotImplementedError

    def importance_weighted_bound(self, images, labels=None, num_samples: int = 64, seed: int = 0) -> tf.Tensor:
        """The k-sample bound per image, in nats (k = 1 is the ELBO; tighter as k grows)."""
        raise NotImplementedError


class Decoder(Capability):
    """Images from codes `z [N, latent_dim]`.

    `decode_signature` names the serving signature (`decode` for a VAE, `generate`
    for a GAN's generator: the field's words).
    """

    decode_signature: ClassVar[str] = "decode"
    latent_dim: int

    def decode(self, z, labels=None) -> tf.Tensor:
        """Codes `[N, latent_dim]` -> encoded images (the decoder's most likely image)."""
        raise NotImplementedError

    def sample_codes(self, num, seed, labels=None) -> tf.Tensor:
        """`num` codes to decode, `[num, latent_dim]`: from the prior, or from what the model
        fitted to its training codes (a VAE's `code_mixture`); a conditional model draws them for
        `labels` (the classes in turn when None)."""
        raise NotImplementedError


class Encoder(Capability):
    """Codes from images: an approximate posterior q(z | x) = N(mean, exp(log_var))."""

    def encode(self, images, labels=None) -> tuple[tf.Tensor, tf.Tensor]:
        """Encoded images -> (mean, log_var), each `[N, latent_dim]`."""
        raise NotImplementedError

    def prior(self, labels=None) -> tuple[tf.Tensor, tf.Tensor] | None:
        """p(z | labels) as (mean, log_var) `[N, latent_dim]`; None when it is N(0, I)."""
        return None

    def reconstruct(self, images, labels=None) -> tf.Tensor:
        """Encoded images -> their reconstructions through the posterior mean."""
        raise NotImplementedError


class Completer(Capability):
    """Completes images given their first pixels in raster order."""

    def complete(self, images, num_known_pixels, seed, labels=None, temperature=1.0) -> tf.Tensor:
        """Keeps the first `num_known_pixels` pixels of `images`, samples the rest."""
        raise NotImplementedError


class CodeSpace(Decoder):
    """Walks in code space (the lecture's "moving on the code space"; Radford et al. 2016, section 6).

    Built on `Decoder`: `interpolation_grid` and `attribute_grid` have default
    implementations in `genzoo.models.code_space` that any decoder can use.
    """

    def interpolation_grid(self, rows: int, steps: int, seed: int, labels=None) -> tf.Tensor:
        """Encoded images `[rows * steps, ...]`: each row walks between two random codes."""
        raise NotImplementedError

    def attribute_grid(self, rows: int, steps: int, seed: int, labels=None) -> tf.Tensor:
        """Encoded images `[rows * steps, ...]`: codes plus -2..2 times an attribute vector."""
        raise NotImplementedError


class Conditional(Capability):
    """Needs a class label per image: every method above takes `labels` `[N]` int32 in [0, num_classes)."""

    num_classes: int


class Guided(Conditional):
    """Classifier-free guidance (Ho & Salimans 2022): a scale s mixes the predictions with and
    without the label, l_u + s (l_c - l_u); 1 is the plain conditional model."""

    guidance: float

    def set_guidance(self, scale: float) -> None:
        """Samples, decodings and reconstructions from now on use scale `scale` >= 0."""
        raise NotImplementedError


class OneBody(Capability):
    """Samples of bodies on a plain background that can keep each image's largest body piece only
    (the GANs that paint a background region): fragments beside the body become background."""

    one_body: bool

    def set_one_body(self, on: bool) -> None:
        """Samples and decodings from now on keep one body per image (`on`) or every piece."""
        raise NotImplementedError


ALL = (Sampler, ExactLikelihood, LikelihoodBound, Decoder, Encoder, Completer, CodeSpace, Conditional, Guided,
       OneBody)


def declared(cls: type) -> frozenset[type]:
    """The capabilities a model class declares among its bases."""
    return frozenset(c for c in ALL if issubclass(cls, c))


def has(model, capability: type) -> bool:
    """Whether `model` offers `capability` (what tools ask instead of `hasattr`)."""
    return capability in model.capabilities()


def names(capabilities) -> list[str]:
    """Sorted class names of `capabilities` (as `model.capabilities()` returns them)."""
    return sorted(c.__name__ for c in capabilities)
