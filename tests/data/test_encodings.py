import numpy as np
import pytest
import tensorflow as tf

from genzoo.data import builtin, encode, palette_to_rgb, quantize, to_rgb_uint8
from genzoo.data.encodings import encoded_spec
from genzoo.data.spec import DatasetSpec
from genzoo.errors import UserError


def test_palette_rgb_palette_is_identity():
    images, _ = builtin.generate(50)
    rgb = palette_to_rgb(images, builtin.PALETTE)
    np.testing.assert_array_equal(quantize(rgb, builtin.PALETTE).numpy(), images)


def test_quantize_picks_nearest_colour():
    palette = ((255, 255, 255), (0, 0, 0), (200, 0, 0))
    pixels = np.array([[250, 240, 255], [10, 5, 0], [180, 30, 20], [90, 90, 90]], np.uint8)
    assert quantize(pixels, palette).numpy().tolist() == [0, 1, 2, 1]


def test_encode_palette_to_rgb_and_binary():
    raw = builtin.SPEC
    images, _ = builtin.generate(4)
    rgb = encode(images, raw, "rgb").numpy()
    assert rgb.shape == (4, 20, 20, 3) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb * 255, palette_to_rgb(images, raw.palette).numpy())
    binary = encode(images, raw, "binary").numpy()
    np.testing.assert_array_equal(binary[..., 0], (images != 0).astype(np.float32))
    assert encoded_spec(raw, "binary").image_shape == (20, 20, 1)


def test_to_rgb_round_trips_rgb_encoding():
    pixels = np.random.RandomState(0).randint(0, 256, (2, 5, 5, 3)).astype(np.uint8)
    spec = DatasetSpec("x", 5, 5, "rgb", channels=3)
    encoded = encode(pixels, spec, "rgb")
    np.testing.assert_array_equal(to_rgb_uint8(encoded, spec).numpy(), pixels)


def test_binary_from_grey_marks_bright_ink():
    grey = np.array([[[[0], [255]]]], np.uint8)
    spec = DatasetSpec("g", 1, 2, "rgb", channels=1)
    assert encode(grey, spec, "binary").numpy().ravel().tolist() == [0.0, 1.0]


def test_palette_encoding_without_palette_is_user_error():
    with pytest.raises(UserError, match="no palette"):
        encoded_spec(DatasetSpec("g", 4, 4, "rgb", channels=1), "palette")


def test_spec_config_round_trip():
    spec = builtin.SPEC
    assert DatasetSpec.from_config(spec.to_config()) == spec
    assert tf.constant(spec.num_dims).numpy() == 400
