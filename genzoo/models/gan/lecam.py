"""The LeCam regulariser of the discriminator (`lecam_weight`; Tseng et al. 2021, *Regularizing Generative
Adversarial Networks under Limited Data*, eq. 3).

The `pokemon40` runs break down late the same way every time: the discriminator memorises the 712 sprites,
then wins outright (its loss near 0, its scores on real and generated images far apart, the generator's loss
above 8; docs/gan.md, "The late breakdown"). LeCam keeps the two sides' scores near each other's history:

    R = E_x[relu(D(x) - a_fake)^2] + E_z[relu(a_real - D(G(z)))^2]

with a_real and a_fake exponential moving averages (decay `DECAY`) of the mean score on real and on generated
images. A real score far above what generated images usually get, or a generated score far below what real
ones usually get, is penalised, so the discriminator cannot push the two apart for good. The hinged form is
the authors' code's (their BigGAN and StyleGAN2 versions). The averages start at the loss's threshold (0; 0.5 for
least squares), where real and generated are not told apart, without bias correction (as their BigGAN version).
"""

from __future__ import annotations

import tensorflow as tf

from genzoo.distribute import replica_sum

DECAY = 0.99  # the paper's


def moved_anchors(anchors, real_scores, fake_scores):
    """`[a_real, a_fake]` -> the same one step on: DECAY * a + (1 - DECAY) * the mean score over the global batch
    (real, generated), so every replica holds the same values. No gradient flows into them."""
    sums = replica_sum(tf.stack([tf.reduce_sum(tf.cast(real_scores, tf.float32)),
                                 tf.reduce_sum(tf.cast(fake_scores, tf.float32)),
                                 tf.cast(tf.size(real_scores), tf.float32)]))
    means = tf.stop_gradient(sums[:2] / sums[2])
    return DECAY * tf.convert_to_tensor(anchors) + (1 - DECAY) * means


def penalty(real_scores, fake_scores, anchors):
    """Per example: relu(D(x) - a_fake)^2 + relu(a_real - D(G(z)))^2 for the pair of a real and a generated image
    (the batches have the same size), so its mean over the batch is R."""
    real_scores, fake_scores = tf.cast(real_scores, tf.float32), tf.cast(fake_scores, tf.float32)
    return tf.square(tf.nn.relu(real_scores - anchors[1])) + tf.square(tf.nn.relu(anchors[0] - fake_scores))
