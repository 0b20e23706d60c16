"""An LSTM for long sequences on CPU: one fused cell, XLA-compiled loops, a hand-written backward pass.

Keras' LSTM (without cuDNN) recomputes the input projection at every step, and
TensorFlow's automatic gradient of a `tf.while_loop` accumulates the recurrent
kernel's gradient one small matmul and one full-size add per step (47 s per
pixel_lstm training step here, against 2.0 s for this module). Here the input
projections of all steps are computed before the loop (for the first layer an
embedding row: the 1-of-N vector times a matrix), the loop does one
`[B, U] x [U, 4U]` matmul and one fused element-wise block per step, and the
backward pass runs its own reverse loop for the gate gradients, then forms the
recurrent kernel's gradient as one large matmul over all steps. Both loops are
XLA-compiled when the sequence length is static (XLA fuses the element-wise work
of a step into one kernel; measured in docs/performance.md).

Gate layout: (i, f, o, g) along the last axis, the three sigmoid gates first (Keras orders
them i, f, g, o), so one sigmoid covers them.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def lstm_update(gates, cell):
    """Pre-activation gates `[..., 4U]` and cell `[..., U]` -> new (h, cell)."""
    units = gates.shape[-1] // 4
    ifo = tf.sigmoid(gates[..., :3 * units])
    i, f, o = ifo[..., :units], ifo[..., units:2 * units], ifo[..., 2 * units:]
    cell = f * cell + i * tf.tanh(gates[..., 3 * units:])
    return o * tf.tanh(cell), cell


def scan_lstm(input_gates, recurrent, reverse: bool = False):
    """Step-major input gates `[T, ..., 4U]` -> hidden states `[T, ..., U]` from a zero state, one
    `tf.scan` step each: `h_t, c_t = lstm_update(input_gates[t] + recurrent(h_{t-1}), c_{t-1})`.

    For the 2-D LSTMs, whose state-to-state term (`recurrent`) is a convolution or a product over
    neighbours: a loop keeps their graph (and its tracing time) one step's size whatever the image.
    """
    units = input_gates.shape[-1] // 4
    zeros = tf.zeros_like(input_gates[0, ..., :units])
    hidden, _ = tf.scan(lambda state, gates: lstm_update(gates + recurrent(state[0]), state[1]), input_gates,
                        initializer=(zeros, zeros), reverse=reverse)
    return hidden


def _forward(input_gates, kernel, bias):
    """Time-major input gates `[T, B, 4U]` -> hidden `[T, B, U]`, activations `[T, B, 4U]`, cells `[T, B, U]`."""
    steps, units = tf.shape(input_gates)[0], kernel.shape[0]
    zeros = tf.zeros([tf.shape(input_gates)[1], units], input_gates.dtype)

    def body(t, h, cell, hs, acts, cells):
        z = input_gates[t] + bias + tf.matmul(h, kernel)
        ifo, g = tf.sigmoid(z[:, :3 * units]), tf.tanh(z[:, 3 * units:])
        cell = ifo[:, units:2 * units] * cell + ifo[:, :units] * g
        h = ifo[:, 2 * units:] * tf.tanh(cell)
        return t + 1, h, cell, hs.write(t, h), acts.write(t, tf.concat([ifo, g], 1)), cells.write(t, cell)

    arrays = [tf.TensorArray(input_gates.dtype, size=steps) for _ in range(3)]
    _, _, _, hs, acts, cells = tf.while_loop(lambda t, *_: t < steps, body, (0, zeros, zeros, *arrays))
    return hs.stack(), acts.stack(), cells.stack()


def _backward(d_hs, hs, acts, cells, kernel):
    """Gradients of (input gates, recurrent kernel, bias) from the gradient of the hidden sequence.

    The gate derivatives are formed inside the loop from that step's activations (XLA
    fuses them into the step's element-wise kernel) rather than for all steps up front,
    which would write and re-read several more `[T, B, 4U]` arrays (memory, not time:
    the step measured the same).
    """
    steps, units = tf.shape(hs)[0], kernel.shape[0]
    kernel_t = tf.transpose(kernel)

    def body(t, dh_next, dc_next, cell, d_gates):
        i, f, o, g = (acts[t][:, k * units:(k + 1) * units] for k in range(4))
        previous_cell = cells[tf.maximum(t - 1, 0)] * tf.cast(t > 0, cell.dtype)
        tanh_c = tf.tanh(cell)
        dh = d_hs[t] + dh_next
        dc = dh * o * (1.0 - tanh_c * tanh_c) + dc_next
        dz = tf.concat([dc * g * i * (1.0 - i), dc * previous_cell * f * (1.0 - f),
                        dh * tanh_c * o * (1.0 - o), dc * i * (1.0 - g * g)], 1)
        return t - 1, tf.matmul(dz, kernel_t), dc * f, previous_cell, d_gates.write(t, dz)

    zeros = tf.zeros_like(hs[0])
    _, _, _, _, d_gates = tf.while_loop(lambda t, *_: t >= 0, body,
                                        (steps - 1, zeros, zeros, cells[steps - 1], tf.TensorArray(hs.dtype, size=steps)))
    d_gates = d_gates.stack()
    previous_hs = tf.concat([tf.zeros_like(hs[:1]), hs[:-1]], 0)
    d_kernel = tf.matmul(tf.reshape(previous_hs, [-1, units]), tf.reshape(d_gates, [-1, 4 * units]), transpose_a=True)
    return d_gates, d_kernel, tf.reduce_sum(d_gates, [0, 1])


_forward_xla = tf.function(_forward, jit_compile=True, autograph=False)
_backward_xla = tf.function(_backward, jit_compile=True, autograph=False)


@tf.custom_gradient
def lstm_sequence(input_gates, kernel, bias):
    """Time-major input gates `[T, B, 4U]` (input projection included, bias not) -> hidden states `[T, B, U]`.

    The state starts at zero. XLA compiles the loops when T is static: a dynamic T
    (such as a growing prefix) would compile once per length.
    """
    static = input_gates.shape[0] is not None
    forward, backward = (_forward_xla, _backward_xla) if static else (_forward, _backward)
    # stop_gradient: the tape must not differentiate the loop itself (it would add per-step accumulators).
    hs, acts, cells = forward(*(tf.stop_gradient(a) for a in (input_gates, kernel, bias)))

    def grad(d_hs):
        return backward(d_hs, hs, acts, cells, kernel)

    return hs, grad


@keras.saving.register_keras_serializable("genzoo")
class SequenceLSTM(keras.layers.Layer):
    """An LSTM layer over `[B, T, D]` returning every step's hidden state `[B, T, U]`.

    With `gate_inputs=True` the input already holds the input projection `[B, T, 4U]`
    (an embedding of width 4U: the first layer of a model over 1-of-N symbols), so
    the layer has no input kernel. `step` runs one time step from given input gates,
    for samplers that carry the state.
    """

    def __init__(self, units: int, gate_inputs: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.gate_inputs = int(units), bool(gate_inputs)

    def build(self, input_shape):
        u = self.units
        if self.gate_inputs and input_shape[-1] != 4 * u:
            raise ValueError(f"gate inputs must have 4 * units = {4 * u} features, got {input_shape[-1]}")
        if not self.gate_inputs:
            self.kernel = self.add_weight(shape=(input_shape[-1], 4 * u), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), initializer="orthogonal", name="recurrent_kernel")
        # The forget gate starts open (bias 1), as Keras' unit_forget_bias.
        forget = tf.concat([tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])], 0)
        self.bias = self.add_weight(shape=(4 * u,), initializer=lambda shape, dtype=None: tf.cast(forget, dtype),
                                    name="bias")

    def input_gates(self, x):
        """Inputs `[..., D]` -> input gates `[..., 4U]` (without the bias)."""
        return x if self.gate_inputs else tf.matmul(x, tf.cast(self.kernel, x.dtype))

    def call(self, x):
        gates = tf.transpose(self.input_gates(x), [1, 0, 2])
        kernel, bias = (tf.cast(w, gates.dtype) for w in (self.recurrent_kernel, self.bias))
        return tf.transpose(lstm_sequence(gates, kernel, bias), [1, 0, 2])

    def step(self, input_gates, state):
        """One step: input gates `[B, 4U]`, state (h, cell) -> h, new state."""
        h, cell = state
        kernel, bias = (tf.cast(w, input_gates.dtype) for w in (self.recurrent_kernel, self.bias))
        h, cell = lstm_update(input_gates + bias + tf.matmul(h, kernel), cell)
        return h, (h, cell)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gate_inputs": self.gate_inputs}
