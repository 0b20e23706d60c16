import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data, serving
from genzoo.errors import UserError
from genzoo.models import PixelCNN
from genzoo.models.layers.masked_conv import MaskedConv2D, channel_groups, conv_mask
from tests.models.test_pixel_rnn import (
    PALETTE,
    SPECS,
    assert_causal,
    marginal_baseline_bits,
    pokemon_arrays,
    random_values,
)


def _tiny(encoding, **kw):
    keras.utils.set_random_seed(2)
    return PixelCNN(SPECS[encoding], **{"filters": 12, "blocks": 2, "embed_dim": 4, **kw})


# === Masks ===
def test_mask_a_and_b_for_one_colour_group():
    a = conv_mask((3, 3), [0], [0], "A")[:, :, 0, 0]
    b = conv_mask((3, 3), [0], [0], "B")[:, :, 0, 0]
    np.testing.assert_array_equal(a, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b, [[1, 1, 1], [1, 1, 0], [0, 0, 0]])


def test_centre_tap_follows_the_rgb_order():
    groups = [0, 1, 2]
    # Rows: input R, G, B; columns: output R, G, B. Mask A: strictly earlier colours.
    np.testing.assert_array_equal(conv_mask((1, 1), groups, groups, "A")[0, 0],
                                  [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(conv_mask((1, 1), groups, groups, "B")[0, 0],
                                  [[1, 1, 1], [0, 1, 1], [0, 0, 1]])
    np.testing.assert_array_equal(channel_groups(6, 3), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(channel_groups(12, 3, repeats=4), np.tile([0, 1, 2], 4))


def test_masked_conv_output_ignores_the_future():
    layer = MaskedConv2D(6, 5, "A", num_groups=3)
    x = tf.random.normal([1, 6, 6, 3])
    y = layer(x).numpy()
    changed = x.numpy()
    changed[0, 3, 3, 1:] += 1.0  # G and B of pixel (3, 3)
    changed[0, 3, 4:] += 1.0  # and everything after it
    changed[0, 4:] += 1.0
    z = layer(tf.constant(changed)).numpy()
    np.testing.assert_allclose(z[0, 3, 3, :4], y[0, 3, 3, :4], atol=1e-6)  # R and G outputs see R only
    assert np.abs(z[0, 3, 3, 4:] - y[0, 3, 3, 4:]).max() > 1e-4  # B outputs see G


def test_masked_conv_rejects_bad_settings():
    with pytest.raises(ValueError, match="odd"):
        MaskedConv2D(4, 2)
    with pytest.raises(ValueError, match="mask_type"):
        MaskedConv2D(4, 3, "C")


# === pixel_cnn ===
@pytest.mark.parametrize("encoding", ["palette", "rgb"])
def test_pixel_cnn_is_causal_in_raster_and_rgb_order(encoding):
    assert_causal(_tiny(encoding))


def test_probabilities_of_all_images_sum_to_one():
    spec = data.DatasetSpec("tiny", 1, 3, "palette", palette=PALETTE[:4])
    model = PixelCNN(spec, filters=4, blocks=1, embed_dim=3)
    images = tf.constant(list(itertools.product(range(4), repeat=3)), tf.int32)[:, None, :]
    np.testing.assert_allclose(tf.reduce_sum(tf.exp(model.log_prob(images))).numpy(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("encoding", ["palette", "rgb"])
def test_sampling_is_seeded_and_greedy_at_temperature_zero(encoding):
    model = _tiny(encoding)
    a, b = model.sample(2, seed=4).numpy(), model.sample(2, seed=4).numpy()
    np.testing.assert_array_equal(a, b)
    greedy = model.sample(2, seed=1, temperature=0.0)
    np.testing.assert_array_equal(greedy.numpy(), model.sample(2, seed=9, temperature=0.0).numpy())
    values = model.to_values(greedy)
    np.testing.assert_array_equal(tf.argmax(model.value_logits(values), -1, output_type=tf.int32).numpy(),
                                  values.numpy())


def test_complete_keeps_the_known_pixels():
    model = _tiny("rgb")
    images = model.from_values(random_values(model, 2))
    done = model.complete(images, num_known_pixels=2, seed=0).numpy().reshape(2, -1)
    np.testing.assert_array_equal(done[:, :6], images.numpy().reshape(2, -1)[:, :6])


def test_bad_settings_are_user_errors():
    with pytest.raises(UserError, match="filters"):
        PixelCNN(SPECS["rgb"], filters=8)  # 4 does not split into 3 colour groups
    with pytest.raises(UserError, match="blocks"):
        PixelCNN(SPECS["palette"], blocks=0)


def test_config_and_keras_file_round_trip(tmp_path):
    model = _tiny("rgb")
    images = model.from_values(random_values(model, 2))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_config()["filters"] == 12
    np.testing.assert_allclose(loaded.log_prob(images).numpy(), model.log_prob(images).numpy(), rtol=1e-6)


def test_serving_sample_and_log_prob():
    model = _tiny("rgb")
    functions = serving.signatures(model, max_num_samples=2)
    out = functions["sample"](tf.constant(2), tf.constant(3, tf.int64), tf.constant(1.0))
    np.testing.assert_array_equal(out["images"].numpy(), data.to_rgb_uint8(model.sample(2, seed=3), model.spec).numpy())
    pixels = tf.cast(model.to_values(model.sample(2, seed=3)), tf.uint8)
    np.testing.assert_allclose(functions["log_prob"](pixels)["nats"].numpy(),
                               model.log_prob(model.sample(2, seed=3)).numpy(), rtol=1e-5)


def test_short_training_on_pokemon_beats_the_per_position_marginal(tmp_path_factory):
    train_images, spec = pokemon_arrays(tmp_path_factory, "train")
    test_images, _ = pokemon_arrays(tmp_path_factory, "test")
    baseline = marginal_baseline_bits(train_images, test_images, spec.num_colors)
    keras.utils.set_random_seed(0)
    model = PixelCNN(spec, filters=32, blocks=2, embed_dim=16)
    model.compile_for_training(1e-2)
    step = tf.function(model.train_step)
    batches = tf.data.Dataset.from_tensor_slices({"image": train_images, "label": np.zeros(len(train_images), np.int32)})
    for batch in batches.shuffle(len(train_images), seed=0).repeat().batch(32).take(30):
        step(batch)
    held_out = float(np.mean(model.bits_per_dim(-model.log_prob(tf.constant(test_images))).numpy()))
    assert held_out < baseline - 0.2, (held_out, baseline)
