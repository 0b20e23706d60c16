"""genzoo.models.layers.lstm: the fused LSTM's hand-written backward pass against TensorFlow's autodiff."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo.models.layers import lstm


def _reference(input_gates, kernel, bias):
    """The same recurrence unrolled step by step with `lstm_update`, for autodiff."""
    batch, units = input_gates.shape[1], kernel.shape[0]
    h = cell = tf.zeros([batch, units])
    outputs = []
    for x in tf.unstack(input_gates):
        h, cell = lstm.lstm_update(x + bias + tf.matmul(h, kernel), cell)
        outputs.append(h)
    return tf.stack(outputs)


@pytest.mark.parametrize("static", [True, False])
def test_hidden_states_and_gradients_equal_autodiff_of_the_unrolled_cell(static):
    rng = np.random.default_rng(0)
    steps, batch, units = 7, 3, 5
    gates = tf.constant(rng.normal(size=(steps, batch, 4 * units)), tf.float32)
    kernel = tf.constant(rng.normal(size=(units, 4 * units)) * 0.5, tf.float32)
    bias = tf.constant(rng.normal(size=(4 * units,)), tf.float32)
    weights = tf.constant(rng.normal(size=(steps, batch, units)), tf.float32)  # a loss that weighs every h

    def loss_and_grads(fn, gates):
        with tf.GradientTape() as tape:
            tape.watch([gates, kernel, bias])
            hs = fn(gates, kernel, bias)
            loss = tf.reduce_sum(hs * weights)
        return hs, tape.gradient(loss, [gates, kernel, bias])

    if static:
        run = tf.function(lambda g: loss_and_grads(lstm.lstm_sequence, g))
    else:  # unknown sequence length: the loops run without XLA
        run = tf.function(lambda g: loss_and_grads(lstm.lstm_sequence, g),
                          input_signature=[tf.TensorSpec([None, batch, 4 * units], tf.float32)])
    hs, grads = run(gates)
    expected_hs, expected_grads = loss_and_grads(_reference, gates)
    np.testing.assert_allclose(hs, expected_hs, atol=1e-5)
    for name, got, want in zip(("input gates", "kernel", "bias"), grads, expected_grads):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=name)
