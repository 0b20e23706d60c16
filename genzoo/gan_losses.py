"""GAN losses as pure functions of the discriminator's outputs.

Every function takes the discriminator's raw outputs ("logits" for the
log-loss family, "critic values" for Wasserstein and hinge, "scores" for least
squares) and returns one loss **per example**, shape `[B]`; the caller reduces
with `genzoo.distribute.global_mean` so the update does not depend on the number
of replicas. Discriminator losses take the outputs on a real batch and on a
generated batch of the same size and pair them row by row.

References:
  Goodfellow et al., *Generative Adversarial Nets*, 2014 (minimax, eq. 1; and the
    non-saturating generator loss of section 3).
  Arjovsky, Chintala & Bottou, *Wasserstein GAN*, 2017.
  Gulrajani et al., *Improved Training of Wasserstein GANs*, 2017 (gradient penalty, eq. 3).
  Lim & Ye, *Geometric GAN*, 2017; Miyato et al., *Spectral Normalization for GANs*, 2018 (hinge).
  Mescheder, Geiger & Nowozin, *Which Training Methods for GANs do actually Converge?*,
    2018 (the R1 penalty, eq. 9).
  Mao et al., *Least Squares Generative Adversarial Networks*, 2017 (eq. 2, a-b-c = 0-1-1).
  Odena, Olah & Shlens, *Conditional Image Synthesis with Auxiliary Classifier GANs*,
    2017 (the class log-likelihood L_C, eq. 3).
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

__all__ = [
    "LOSSES",
    "GANLoss",
    "auxiliary_classifier_loss",
    "get",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "r1_penalty",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
    "wasserstein_gradient_penalty",
]


# === Minimax and non-saturating (Goodfellow et al. 2014) ===
def minimax_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """-log D(x) - log(1 - D(G(z))), with D = sigmoid(logits) (Goodfellow et al. 2014, eq. 1).

    Args:
      real_logits: `[B]` discriminator logits on real examples.
      fake_logits: `[B]` discriminator logits on generated examples.
    Returns:
      `[B]` per-example loss; softplus keeps it finite for any logit.
    """
    # -log sigmoid(a) = softplus(-a); -log(1 - sigmoid(a)) = softplus(a).
    return tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits)


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """log(1 - D(G(z))): the generator minimises the discriminator's objective (eq. 1).

    Saturates: when D confidently rejects the samples early in training, its gradient
    vanishes, which is why section 3 of the paper suggests the non-saturating loss.

    Args:
      fake_logits: `[B]` discriminator logits on generated examples.
    Returns:
      `[B]` per-example loss (always negative).
    """
    return -tf.nn.softplus(fake_logits)


def non_saturating_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """The same discriminator loss as the minimax game (Goodfellow et al. 2014).

    Args:
      real_logits: `[B]` discriminator logits on real examples.
      fake_logits: `[B]` discriminator logits on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return minimax_discriminator_loss(real_logits, fake_logits)


def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """-log D(G(z)) (Goodfellow et al. 2014, section 3): strong gradients when D wins.

    Args:
      fake_logits: `[B]` discriminator logits on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return tf.nn.softplus(-fake_logits)


# === Wasserstein with gradient penalty (Arjovsky et al. 2017; Gulrajani et al. 2017) ===
def wasserstein_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """D(G(z)) - D(x): the critic's side of the Kantorovich-Rubinstein dual.

    Add `wasserstein_gradient_penalty` (Gulrajani et al. 2017, eq. 3) to keep the
    critic close to 1-Lipschitz.

    Args:
      real_scores: `[B]` critic values on real examples.
      fake_scores: `[B]` critic values on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return fake_scores - real_scores


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """-D(G(z)) (Arjovsky et al. 2017).

    Args:
      fake_scores: `[B]` critic values on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return -fake_scores


def wasserstein_gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor], real: tf.Tensor, fake: tf.Tensor, epsilon: tf.Tensor
) -> tf.Tensor:
    """(||grad_x critic(x_hat)||_2 - 1)^2 at x_hat = eps x + (1 - eps) G(z) (Gulrajani et al. 2017, eq. 3).

    Args:
      critic: maps a batch `[B, ...]` to `[B]` critic values; examples must not
        interact (no batch norm in training mode), else the per-example gradient is wrong.
      real: `[B, ...]` real examples.
      fake: `[B, ...]` generated examples.
      epsilon: `[B]` mixing weights drawn from U[0, 1].
    Returns:
      `[B]` per-example penalty (not yet multiplied by the weight lambda, 10 in the paper).
    """
    eps = tf.reshape(tf.cast(epsilon, real.dtype), [-1] + [1] * (len(real.shape) - 1))
    x_hat = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        # The scores of distinct examples are independent, so the gradient of their
        # sum holds each example's own gradient in its row.
        total = tf.reduce_sum(critic(x_hat))
    gradients = tape.gradient(total, x_hat)
    axes = list(range(1, len(real.shape)))
    # The small constant keeps the norm's gradient finite at a zero gradient.
    norm = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=axes) + 1e-12)
    return tf.square(norm - 1.0)


# === R1 (Mescheder et al. 2018) ===
def r1_penalty(
    discriminator: Callable[[tf.Tensor], tf.Tensor], real: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """||grad_x D(x)||^2 on real examples (Mescheder et al. 2018, eq. 9, before the gamma / 2).

    Penalising the discriminator's gradient on the data only (not on interpolates, as
    WGAN-GP does) makes the game locally convergent at the equilibrium where the
    generator matches the data (the paper's theorem 4.1).

    Args:
      discriminator: maps a batch `[B, ...]` to `[B]` outputs, or to a tuple whose first
        item is the `[B]` outputs (e.g. with class logits); for a per-example gradient
        its examples must not interact (no batch norm in training mode).
      real: `[B, ...]` real examples.
    Returns:
      (`[B]` per-example squared gradient norm, what `discriminator(real)` returned),
      the outputs returned so the caller needs no second forward pass. Differentiable
      in the discriminator's weights (a gradient of a gradient).
    """
    with tf.GradientTape() as tape:
        tape.watch(real)
        outputs = discriminator(real)
        scores = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
        # Examples are independent, so the gradient of the sum holds each one's own gradient.
        total = tf.reduce_sum(scores)
    gradients = tape.gradient(total, real)
    return tf.reduce_sum(tf.square(gradients), axis=list(range(1, len(real.shape)))), outputs


# === Hinge (Lim & Ye 2017; Miyato et al. 2018) ===
def hinge_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (Lim & Ye 2017; Miyato et al. 2018, eq. 16).

    Args:
      real_scores: `[B]` discriminator outputs on real examples.
      fake_scores: `[B]` discriminator outputs on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return tf.nn.relu(1.0 - real_scores) + tf.nn.relu(1.0 + fake_scores)


def hinge_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """-D(G(z)) (Miyato et al. 2018, eq. 17).

    Args:
      fake_scores: `[B]` discriminator outputs on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return -fake_scores


# === Least squares (Mao et al. 2017) ===
def least_squares_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2 (Mao et al. 2017, eq. 2 with a = 0, b = 1).

    Args:
      real_scores: `[B]` discriminator outputs on real examples.
      fake_scores: `[B]` discriminator outputs on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return 0.5 * tf.square(real_scores - 1.0) + 0.5 * tf.square(fake_scores)


def least_squares_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """1/2 (D(G(z)) - 1)^2 (Mao et al. 2017, eq. 2 with c = 1).

    Args:
      fake_scores: `[B]` discriminator outputs on generated examples.
    Returns:
      `[B]` per-example loss.
    """
    return 0.5 * tf.square(fake_scores - 1.0)


# === Auxiliary classifier (Odena et al. 2017) ===
def auxiliary_classifier_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """-log P(C = c | X) (Odena et al. 2017, eq. 3: L_C, with the sign for minimising).

    AC-GAN's discriminator minimises it on real and generated images, and the
    generator on its own images with the classes it was asked for; it adds to
    whichever adversarial loss is chosen.

    Args:
      labels: `[B]` int class of each example (the requested class for generated ones).
      logits: `[B, classes]` the discriminator's class logits.
    Returns:
      `[B]` per-example cross-entropy.
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), logits)


# === Selection by name ===
class GANLoss:
    """A named pair of losses and how to read the discriminator's output.

    `threshold` is the output above which the discriminator calls an example real
    (for the accuracy metrics); `gradient_penalty` says whether the critic needs
    the Wasserstein gradient penalty.
    """

    def __init__(self, name, generator, discriminator, threshold=0.0, gradient_penalty=False):
        self.name, self.generator, self.discriminator = name, generator, discriminator
        self.threshold, self.gradient_penalty = threshold, gradient_penalty


LOSSES = {
    "minimax": GANLoss("minimax", minimax_generator_loss, minimax_discriminator_loss),
    "non_saturating": GANLoss("non_saturating", non_saturating_generator_loss, non_saturating_discriminator_loss),
    "wgan_gp": GANLoss("wgan_gp", wasserstein_generator_loss, wasserstein_discriminator_loss, gradient_penalty=True),
    "hinge": GANLoss("hinge", hinge_generator_loss, hinge_discriminator_loss),
    "least_squares": GANLoss("least_squares", least_squares_generator_loss, least_squares_discriminator_loss,
                             threshold=0.5),
}


def get(name: str) -> GANLoss:
    """The loss pair called `name`; an unknown name raises ValueError listing the valid ones."""
    if name not in LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]
