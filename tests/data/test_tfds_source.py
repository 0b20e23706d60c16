import numpy as np
import pytest
import tensorflow_datasets as tfds

from genzoo.data import load
from genzoo.errors import UserError


def test_tfds_dataset_passes_through_with_labels():
    with tfds.testing.mock_data(num_examples=12):
        ds, spec = load("tfds:mnist", "train")
        examples = list(ds.take(5))
    assert spec.image_shape == (28, 28, 1) and spec.num_classes == 10 and spec.encoding == "rgb"
    image = examples[0]["image"].numpy()
    assert image.dtype == np.float32 and 0.0 <= image.min() and image.max() <= 1.0
    assert all(0 <= int(e["label"]) < 10 for e in examples)


def test_tfds_binary_encoding():
    with tfds.testing.mock_data(num_examples=4):
        ds, spec = load("tfds:mnist", "test", encoding="binary")
        image = next(iter(ds))["image"].numpy()
    assert spec.encoding == "binary" and set(np.unique(image)) <= {0.0, 1.0}


def test_unknown_tfds_dataset_is_user_error():
    with pytest.raises(UserError, match="tfds:no_such_set: no such TFDS dataset"):
        load("tfds:no_such_set")
