"""Gated PixelCNN: causal, no blind spot, exact samplers, and labels that matter."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.models import PixelCNN, capabilities, registry
from genzoo.models.autoregressive import GatedPixelCNN, samplers
from tests.models.test_pixel_rnn import PALETTE, SPECS, assert_causal, random_values

LABELLED = data.DatasetSpec("tiny", 3, 4, "palette", palette=PALETTE, num_classes=3)
BINARY = data.DatasetSpec("tiny", 3, 4, "binary")
ENCODINGS = {**SPECS, "binary": BINARY, "labelled": LABELLED}


def _tiny(encoding, **kw):
    keras.utils.set_random_seed(4)
    return GatedPixelCNN(ENCODINGS[encoding], **{"filters": 12, "layers": 2, "embed_dim": 4, **kw})


class _FixedLabels:
    """A conditional model seen through `value_logits(values)` with fixed labels (for `assert_causal`)."""

    def __init__(self, model, labels):
        self.model, self.labels = model, tf.constant(labels, tf.int32)

    def value_logits(self, values, labels=None):
        return self.model.value_logits(values, self.labels)

    def __getattr__(self, name):
        return getattr(self.model, name)


# === Causality and the receptive field ===
@pytest.mark.parametrize("encoding", ["palette", "rgb", "binary"])
def test_gated_pixel_cnn_is_causal_in_raster_and_rgb_order(encoding):
    assert_causal(_tiny(encoding))


def test_conditional_gated_pixel_cnn_is_causal():
    assert_causal(_FixedLabels(_tiny("labelled"), [0, 2]))


WIDE = data.DatasetSpec("wide", 9, 14, "palette", palette=PALETTE)
TARGET = (7, 6)  # row r, column c


def seen_pixels(model, target=TARGET):
    """The pixels whose value changes the logits of pixel `target` (one image per changed pixel)."""
    h, w = model.spec.height, model.spec.width
    values = random_values(model, 1).numpy()
    changed = np.repeat(values, h * w, axis=0)
    for p, (i, j) in enumerate(itertools.product(range(h), range(w))):
        changed[p, i, j] = (changed[p, i, j] + 1) % model.num_values
    r, c = target
    base = model.value_logits(tf.constant(values))[:, r, c].numpy()
    moved = model.value_logits(tf.constant(changed))[:, r, c].numpy()
    differs = np.abs(moved - base).reshape(h * w, -1).max(axis=1) > 1e-6
    return {pixel for pixel, d in zip(itertools.product(range(h), range(w)), differs) if d}


def gated_window(num_layers, target=TARGET, shape=(WIDE.height, WIDE.width)):
    """What a gated pixel sees after `num_layers` layers (a 4x7 then 2x3 vertical stack on the rows
    above, a 1x7 then 1x3 horizontal stack on its row): the whole rectangle above, no blind spot."""
    r, c = target
    reach = 2 + num_layers
    above = {(i, j) for i in range(max(0, r - 3 - num_layers), r)
             for j in range(max(0, c - reach), min(shape[1], c + reach + 1))}
    return above | {(r, j) for j in range(max(0, c - reach), c)}


def test_gated_pixel_sees_the_whole_rectangle_above_it_without_a_blind_spot():
    keras.utils.set_random_seed(0)
    model = GatedPixelCNN(WIDE, filters=12, layers=3, embed_dim=4)
    seen = seen_pixels(model)
    r, c = TARGET
    assert (r - 1, c + 2) in seen and (r - 1, c + 5) in seen  # above right, where PixelCNN is blind
    assert (r - 6, c - 5) in seen and (r - 6, c + 5) in seen  # the far corners of its receptive field
    assert seen == gated_window(3), (sorted(seen - gated_window(3)), sorted(gated_window(3) - seen))


def test_plain_pixel_cnn_has_the_blind_spot_that_the_gated_stacks_remove():
    # Stacked masked convolutions see a cone above a pixel that widens by one column per
    # row (7x7 mask A: 3 columns right on row r-1, then one more per row up): the pixels
    # right of it on the rows just above stay unseen however deep the stack (van den
    # Oord et al. 2016, figure 1). The gated network above sees them.
    keras.utils.set_random_seed(0)
    model = PixelCNN(WIDE, filters=12, blocks=3, embed_dim=4)
    seen = seen_pixels(model)
    r, c = TARGET
    assert {(r - 1, c + 2), (r - 1, c + 3), (r - 2, c + 4)} <= seen  # inside the cone
    blind = {(r - 1, c + 4), (r - 1, c + 5), (r - 2, c + 5)}
    assert not blind & seen, sorted(blind & seen)
    assert blind <= gated_window(3)


# === Sampling and completion ===
@pytest.mark.parametrize("encoding", ["palette", "rgb", "labelled"])
def test_row_by_row_sampling_equals_naive_recomputation(encoding):
    # The row-by-row sampler (`samplers.rowwise_generate`, kept as a reference; `sample` is the
    # cached one, tests/models/test_cached_sampling.py) runs the network on rows 0..r only (the
    # vertical stack's shift takes any number of rows): those rows' logits must not change, and
    # its samples and completions must equal full re-runs of the network.
    model = _tiny(encoding)
    assert model.rowwise_sampling
    values = random_values(model, 2)
    labels = model.labels_for(2, [2, 1] if model.conditional else None)
    full = model.value_logits(values, labels).numpy()
    for r in range(model.spec.height):
        np.testing.assert_allclose(model.value_logits(values[:, :r + 1], labels).numpy(), full[:, :r + 1], atol=1e-5)
    naive = tf.function(model._naive_generate)  # (the cached `sample` against it: test_cached_sampling.py)
    rowwise = tf.function(lambda *args: samplers.rowwise_generate(model, *args))
    for num_known in (0, 5, model.num_pixels):
        args = (values, tf.constant(num_known), tf.constant(9, tf.int64), tf.constant(1.0), labels)
        np.testing.assert_array_equal(rowwise(*args).numpy(), naive(*args).numpy())


@pytest.mark.parametrize("encoding", ["rgb", "binary", "labelled"])
def test_sampling_is_seeded_and_greedy_at_temperature_zero(encoding):
    model = _tiny(encoding)
    labels = [1, 0] if model.conditional else None
    np.testing.assert_array_equal(model.sample(2, seed=4, labels=labels).numpy(),
                                  model.sample(2, seed=4, labels=labels).numpy())
    greedy = model.sample(2, seed=1, labels=labels, temperature=0.0)
    np.testing.assert_array_equal(greedy.numpy(), model.sample(2, seed=9, labels=labels, temperature=0.0).numpy())
    values = model.to_values(greedy)
    logits = model.value_logits(values, model.labels_for(2, labels))
    np.testing.assert_array_equal(tf.argmax(logits, -1, output_type=tf.int32).numpy(), values.numpy())


@pytest.mark.parametrize("encoding", ["rgb", "labelled"])
def test_complete_keeps_the_known_pixels(encoding):
    model = _tiny(encoding)
    images = model.from_values(random_values(model, 2))
    done = model.complete(images, num_known_pixels=5, seed=0).numpy().reshape(2, -1)
    known = 5 * model.num_channels
    np.testing.assert_array_equal(done[:, :known], images.numpy().reshape(2, -1)[:, :known])
    np.testing.assert_array_equal(model.complete(images, model.num_pixels, seed=0).numpy(), images.numpy())


# === Likelihood and conditioning ===
@pytest.mark.parametrize("label", [None, 0, 2])
def test_probabilities_of_all_images_sum_to_one(label):
    spec = data.DatasetSpec("tiny", 1, 3, "palette", palette=PALETTE[:4], num_classes=3 if label is not None else 0)
    model = GatedPixelCNN(spec, filters=4, layers=2, embed_dim=3)
    images = tf.constant(list(itertools.product(range(4), repeat=3)), tf.int32)[:, None, :]
    labels = None if label is None else tf.fill([len(images)], label)
    np.testing.assert_allclose(tf.reduce_sum(tf.exp(model.log_prob(images, labels))).numpy(), 1.0, rtol=1e-5)


def test_conditional_log_prob_depends_on_the_label():
    model = _tiny("labelled")
    assert capabilities.Conditional in model.capabilities() and model.conditional
    images = model.from_values(random_values(model, 2))
    scores = [model.log_prob(images, tf.fill([2], k)).numpy() for k in range(3)]
    assert min(np.abs(scores[a] - scores[b]).min() for a, b in ((0, 1), (0, 2), (1, 2))) > 1e-4, scores
    # The label reaches even the first pixel, which has no context: a bias inside every gate.
    values = random_values(model, 3)
    first = model.value_logits(values, tf.range(3))[:, 0, 0, 0].numpy()
    assert np.abs(first[0] - first[1]).max() > 1e-4 and np.abs(first[1] - first[2]).max() > 1e-4, first


def test_unconditional_when_asked_or_when_the_data_has_no_labels():
    for model in (_tiny("palette"), _tiny("labelled", conditional=False)):
        assert capabilities.Conditional not in model.capabilities() and not model.conditional
        assert model.value_logits(random_values(model, 1)).shape == (1, 3, 4, 1, 5)
        with pytest.raises(UserError, match="not conditional"):
            model.sample(1, seed=0, labels=[0])
    assert not any("label" in w.path for w in _tiny("labelled", conditional=False).weights)


def test_bad_settings_are_user_errors():
    with pytest.raises(UserError, match="filters"):
        GatedPixelCNN(SPECS["rgb"], filters=8)  # does not split into 3 colour groups
    with pytest.raises(UserError, match="layers"):
        GatedPixelCNN(SPECS["palette"], layers=0)
    with pytest.raises(UserError, match="has no hyper-parameter 'blocks'"):
        registry.build("gated_pixel_cnn", SPECS["palette"], blocks=3)


@pytest.mark.parametrize("encoding", ["rgb", "labelled"])
def test_config_and_keras_file_round_trip(tmp_path, encoding):
    model = _tiny(encoding)
    images = model.from_values(random_values(model, 2))
    labels = [2, 0] if model.conditional else None
    config = model.get_config()
    assert {"filters", "layers", "embed_dim", "conditional", "seed", "spec"} <= set(config)
    clone = GatedPixelCNN.from_config(config)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.log_prob(images, labels).numpy(), model.log_prob(images, labels).numpy(),
                               rtol=1e-6)
    model.save(str(tmp_path / "model.keras"))
    loaded = keras.models.load_model(str(tmp_path / "model.keras"))
    assert loaded.get_config() == config
    np.testing.assert_allclose(loaded.log_prob(images, labels).numpy(), model.log_prob(images, labels).numpy(),
                               rtol=1e-6)
