"""The cached samplers (`genzoo/models/autoregressive/cached.py`) against the naive re-run.

Untrained networks give almost uniform logits, so the Gumbel noise alone would decide
the draws and a wrong sampler could still draw the naive images: the weights here are
sharpened (random biases, the output layer scaled to logits of standard deviation 2),
so the logits are far from uniform.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data, serving
from genzoo.models import registry

PALETTE = tuple((i * 40 % 256, i * 90 % 256, i * 20 % 256) for i in range(7))
SPECS = {
    "palette": data.DatasetSpec("tiny", 5, 6, "palette", palette=PALETTE),
    "rgb": data.DatasetSpec("tiny", 4, 5, "rgb", channels=3),
    "binary": data.DatasetSpec("tiny", 5, 6, "binary"),
}
LABELLED = data.DatasetSpec("tiny", 5, 6, "palette", palette=PALETTE, num_classes=3)
SMALL = {
    "pixel_cnn": {"filters": 12, "blocks": 2, "embed_dim": 4},
    "row_lstm": {"units": 12, "filters": 12, "layers": 2, "embed_dim": 4},
    "diagonal_bilstm": {"units": 12, "filters": 12, "layers": 2, "embed_dim": 4},
    "gated_pixel_cnn": {"filters": 6, "layers": 2, "embed_dim": 4},
}
CACHED = ["pixel_cnn", "row_lstm", "diagonal_bilstm"]  # gated_pixel_cnn: two tests of its own (test time)
# Binary pixels take the palette's path with two values (one channel, an embedding): checked on the PixelCNN
# only, which saves the two LSTMs' 20 s of tracing for no other code.
CASES = [(name, encoding) for name in CACHED for encoding in ("palette", "rgb")] + [("pixel_cnn", "binary")]


def _model(name, encoding):
    keras.utils.set_random_seed(4)
    model = registry.build(name, LABELLED if encoding == "labelled" else SPECS[encoding], **SMALL[name])
    rng = np.random.RandomState(0)
    for w in model.weights:
        if w.path.endswith("bias") or "_label/" in w.path:  # label terms: labels that matter
            w.assign(rng.normal(0.0, 0.3, w.shape).astype(np.float32))
    scale = 2.0 / float(tf.math.reduce_std(model.value_logits(_values(model, 4, seed=2), model.labels_for(4, None))))
    for w in model.network.get_layer("output_logits").weights:
        w.assign(w * scale)
    return model


def _values(model, batch, seed=0):
    rng = np.random.RandomState(seed)
    h, w = model.spec.height, model.spec.width
    return tf.constant(rng.randint(0, model.num_values, (batch, h, w, model.num_channels)), tf.int32)


# Log-probs, samples and completions in one test per case: one model, and the cached loop and the naive
# re-run each traced once (one batch shape) for every temperature and number of known pixels.
@pytest.mark.parametrize("name, encoding", CASES)
def test_cached_loop_equals_the_full_network(name, encoding):
    model = _model(name, encoding)
    # Every conditional: the cached loop run on known images against the full network.
    values = _values(model, 3)
    logits = model.value_logits(values)
    assert float(tf.math.reduce_std(logits)) > 1.0  # far from uniform
    gumbel = tf.zeros([model.num_pixels * model.num_channels, 3, model.num_values])
    run = tf.function(lambda: model._cached_run(values, model.num_pixels, gumbel, 0.0, log_probs=True))
    copied, log_probs = run()
    np.testing.assert_array_equal(copied.numpy(), values.numpy())
    expected = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=values, logits=logits)
    np.testing.assert_allclose(log_probs.numpy(), expected.numpy(), atol=2e-4)
    # Samples, then completions of 0 to all pixels, against the naive re-run.
    images = model.from_values(_values(model, 4, seed=1))
    for temperature in (1.0, 0.0):
        cached = model.sample(4, seed=5, temperature=temperature).numpy()
        reference = model.naive_sample(4, seed=5, temperature=temperature).numpy()
        np.testing.assert_array_equal(cached, reference, err_msg=f"T={temperature}")
        if temperature:
            assert not np.array_equal(cached, model.sample(4, seed=6, temperature=temperature).numpy())
        for num_known in (0, 1, 7, model.num_pixels - 1, model.num_pixels):
            done = model.complete(images, num_known, seed=9, temperature=temperature)
            reference = model._naive_generate_compiled(  # naive_sample's traced re-run, with known pixels
                model.to_values(images), tf.constant(num_known), tf.constant(9, tf.int64),
                tf.constant(temperature, tf.float32), model.labels_for(4, None))
            np.testing.assert_array_equal(model.to_values(done).numpy(), reference.numpy(),
                                          err_msg=f"T={temperature}, {num_known} known")


@pytest.mark.parametrize("name", CACHED)
def test_serving_sample_signature_draws_the_model_samples(name):
    model = _model(name, "palette")
    functions = serving.signatures(model, 8)
    for num, seed, temperature in ((8, 3, 1.0), (2, 4, 0.0)):
        out = functions["sample"](tf.constant(num), tf.constant(seed, tf.int64), tf.constant(temperature))
        expected = model.sample(num, seed=seed, temperature=temperature).numpy()
        np.testing.assert_array_equal(out["indices"].numpy(), expected)
        np.testing.assert_array_equal(expected, model.naive_sample(num, seed=seed, temperature=temperature).numpy())


def _gated_checks(model, labels, temperatures, num_known):
    """Every conditional of the cached loop against the full network, then samples (num_known 0) and a
    completion against the naive re-run at each temperature; one batch size, so each loop compiles once."""
    values = _values(model, 3)
    logits = model.value_logits(values, labels)
    gumbel = tf.zeros([model.num_pixels * model.num_channels, 3, model.num_values])
    _, log_probs = tf.function(lambda: model._cached_run(values, model.num_pixels, gumbel, 0.0, labels,
                                                         log_probs=True))()
    expected = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=values, logits=logits)
    np.testing.assert_allclose(log_probs.numpy(), expected.numpy(), atol=2e-4)
    naive = tf.function(model._naive_generate)
    for temperature in temperatures:
        for known in (0, num_known):
            done = model.to_values(model.complete(model.from_values(values), known, seed=5, labels=labels,
                                                  temperature=temperature))
            reference = naive(values, tf.constant(known), tf.constant(5, tf.int64), tf.constant(temperature), labels)
            np.testing.assert_array_equal(done.numpy(), reference.numpy(), err_msg=f"T={temperature}, {known} known")
    return values


def test_gated_pixel_cnn_cached_sampler_equals_naive_on_rgb():
    # RGB: the horizontal stack's colour groups at the centre tap; samples and completions, T = 1 and 0.
    model = _model("gated_pixel_cnn", "rgb")
    _gated_checks(model, None, (1.0, 0.0), num_known=7)


def test_conditional_gated_pixel_cnn_cached_sampler_equals_naive_with_labels():
    # Labels enter every gate (equation 4): palette samples and completions for given labels, and the
    # serving signature's samples.
    model = _model("gated_pixel_cnn", "labelled")
    assert model.conditional
    labels = tf.constant([2, 0, 1])
    values = _gated_checks(model, labels, (1.0, 0.0), num_known=8)
    assert not np.allclose(model.value_logits(values, labels).numpy(),
                           model.value_logits(values, labels[::-1]).numpy(), atol=0.1)
    out = serving.signatures(model, 8)["sample"](tf.constant(3), tf.constant(5, tf.int64), tf.constant(1.0), labels)
    np.testing.assert_array_equal(out["indices"].numpy(), model.sample(3, seed=5, labels=labels).numpy())


def test_sampling_draws_the_same_images_however_the_batch_is_sliced():
    # The loops run on slices of the batch at once (`cached.sharded`), the batch padded to a multiple of
    # the slices; labels sliced with their images; a known batch size and an unknown one (serving), down
    # to one image in more slices than images; against one whole-batch loop.
    model = _model("gated_pixel_cnn", "labelled")
    h, w = model.spec.height, model.spec.width
    specs = [tf.TensorSpec([None, h, w, 1], tf.int32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int64),
             tf.TensorSpec([], tf.float32), tf.TensorSpec([None], tf.int32)]
    drawn = {}
    for num, shards, signature in ((5, 1, None), (5, 2, None), (5, 3, specs), (1, 1, None), (1, 3, specs)):
        args = (tf.zeros([num, h, w, 1], tf.int32), tf.constant(0), tf.constant(7, tf.int64), tf.constant(1.0),
                tf.constant([2, 0, 1, 1, 0][:num]))
        model.sampling_shards = shards
        drawn[num, shards] = tf.function(model._generate, input_signature=signature)(*args).numpy()
        assert drawn[num, shards].shape == (num, h, w, 1)
        np.testing.assert_array_equal(drawn[num, shards], drawn[num, 1], err_msg=f"{num} images in {shards} slices")
    assert len(np.unique(drawn[5, 1])) > 1


def test_sampling_flops_count_each_layer_at_its_causal_taps():
    # The benchmark's roofline (`sampling_flops`), by hand for 5x6 palette images of 7 colours, 2 FLOPs a weight.
    cnn = registry.build("pixel_cnn", SPECS["palette"], **SMALL["pixel_cnn"])
    # Per sub-pixel: 7x7 mask A's centre row, 4 taps x 4 inputs x 12; per block 12x6, 2 taps x 6 x 6, 6x12; outputs
    # 12x12, 12x7; per pixel of H + 1 rows, the rows above: 7x7 3 x 7 taps x 4 x 12, each 3x3 3 taps x 6 x 6.
    per_subpixel = 4 * 4 * 12 + 2 * (72 + 72 + 72) + 144 + 84
    assert cnn.sampling_flops(3) == 3 * 2 * (30 * per_subpixel + 6 * 6 * (21 * 4 * 12 + 2 * 3 * 36))
    gated = registry.build("gated_pixel_cnn", SPECS["palette"], **SMALL["gated_pixel_cnn"])
    # Per sub-pixel: 1x7 mask A 4 taps x 4 x 12, 1x1 6x6, 1x3 mask B 2 taps x 6 x 12, 1x1 6x6, outputs 6x6, 6x7;
    # per pixel of H + 1 rows: vertical 4x7x4x12 and 2x3x6x12, each with a 12x12 into the horizontal gates.
    per_subpixel = 4 * 4 * 12 + 36 + 2 * 6 * 12 + 36 + 36 + 42
    assert gated.sampling_flops(3) == 3 * 2 * (30 * per_subpixel + 6 * 6 * (4 * 7 * 4 * 12 + 144 + 2 * 3 * 6 * 12 + 144))
    # Row LSTM, per sub-pixel: 7x7 centre row 4 x 4 x 12, outputs, per layer the 1x3 mask-B input-to-state (2 taps
    # x 12 x 48) and the residual 12x12; per pixel of H + 1 rows: 7x7 rows above 21 x 4 x 12, per layer the
    # state-to-state 1x3 over the row above (3 x 12 x 48).
    row = registry.build("row_lstm", SPECS["palette"], **SMALL["row_lstm"])
    outputs = 144 + 84
    assert row.sampling_flops(3) == 3 * 2 * (30 * (192 + outputs + 2 * (2 * 12 * 48 + 144))
                                             + 6 * 6 * (21 * 4 * 12 + 2 * 3 * 12 * 48))
    # Diagonal BiLSTM, per sub-pixel: 7x7 centre row, outputs, per layer input-to-state 12x48, the left state 12x48,
    # residual 12x12; per pixel (the right-to-left sweep): per layer 12x48 and two 12x48; per pixel of H + 1
    # rows: 7x7 rows above, per layer the state above 12x48.
    diagonal = registry.build("diagonal_bilstm", SPECS["palette"], **SMALL["diagonal_bilstm"])
    assert diagonal.sampling_flops(3) == 3 * 2 * (30 * (192 + outputs + 2 * (576 + 576 + 144) + 2 * 3 * 576)
                                                  + 6 * 6 * (21 * 4 * 12 + 2 * 576))
