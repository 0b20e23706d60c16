"""Spectrally normalised convolution and dense layers (Miyato et al. 2018).

W_SN = W / sigma(W), with sigma(W) the largest singular value of the kernel reshaped
to a matrix `[-1, out]`, estimated by one power iteration per training call from a
persistent vector u (the paper's algorithm 1). The gradient flows through sigma (with
u and v held fixed, as in the paper), so the discriminator is 1-Lipschitz per layer.

Why not `keras.layers.SpectralNormalization`: in Keras 3.15 its training call *assigns*
W / sigma back into the trainable kernel, so the gradient skips sigma (a projection
after each step, not the paper's reparameterisation), and it writes a mirrored
trainable variable from inside the replica's step, which `tf.distribute` refuses.
Here the kernel is left alone and only u is updated; u is a non-trainable weight
(checkpointed, so resume continues the same power iteration) whose update is the same
on every replica (it depends on the mirrored kernel only), hence aggregation
`only_first_replica`. In inference mode u is read, not updated.

Reference:
  Miyato, Kataoka, Koyama & Yoshida, *Spectral Normalization for Generative
    Adversarial Networks*, ICLR 2018 (algorithm 1; section 2.1).
"""

from __future__ import annotations

import keras
from keras import layers, ops


def _l2_normalize(x):
    return x / ops.sqrt(ops.sum(ops.square(x)) + 1e-12)


class _SpectralNorm:
    """Mixin: u, the power iteration and the normalised kernel, for a layer with `kernel`."""

    power_iterations = 1

    def _build_u(self):
        self.sn_u = self.add_weight(
            shape=(1, self.kernel.shape[-1]), initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False, name="sn_u", aggregation="only_first_replica")

    def normalized_kernel(self, training=False):
        """W / sigma(W); in training mode also advances u by one power iteration."""
        matrix = ops.reshape(self.kernel, (-1, self.kernel.shape[-1]))  # [fan_in, out]
        u = self.sn_u.value
        for _ in range(self.power_iterations if training else 0):
            v = _l2_normalize(ops.matmul(u, ops.transpose(matrix)))  # [1, fan_in]
            u = _l2_normalize(ops.matmul(v, matrix))  # [1, out]
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(_l2_normalize(ops.matmul(u, ops.transpose(matrix))))
        sigma = ops.sum(ops.matmul(v, matrix) * u)  # v^T W u (Miyato et al., eq. 13)
        if training:
            self.sn_u.assign(u)
        return self.kernel / sigma

    # Conv2D and Dense save only their own named variables (kernel, bias, quantisation state) in
    # .keras files; the generic Layer methods save every variable, u included.
    def save_own_variables(self, store):
        layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        layers.Layer.load_own_variables(self, store)

    def spectral_norm_estimate(self):
        """sigma(W) as the current u estimates it (no update)."""
        matrix = ops.reshape(self.kernel, (-1, self.kernel.shape[-1]))
        u = self.sn_u.value
        v = _l2_normalize(ops.matmul(u, ops.transpose(matrix)))
        return ops.sum(ops.matmul(v, matrix) * u)


@keras.saving.register_keras_serializable("genzoo")
class SNConv2D(_SpectralNorm, layers.Conv2D):
    """`Conv2D` whose kernel is divided by its spectral norm (Miyato et al. 2018)."""

    def build(self, input_shape):
        super().build(input_shape)
        self._build_u()

    def call(self, inputs, training=False):
        outputs = self.convolution_op(inputs, self.normalized_kernel(training))
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, (1, 1, 1, self.filters)))
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable("genzoo")
class SNDense(_SpectralNorm, layers.Dense):
    """`Dense` whose kernel is divided by its spectral norm (Miyato et al. 2018)."""

    def build(self, input_shape):
        super().build(input_shape)
        self._build_u()

    def call(self, inputs, training=False):
        x = ops.matmul(inputs, self.normalized_kernel(training))
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x) if self.activation is not None else x
