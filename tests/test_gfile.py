"""Every converted reader and writer works on a TensorFlow file system other than the local one.

TensorFlow's in-memory `ram://` file system stands in for `gs://` (docs/TOOLCHAIN.md): a
writer that used `open`/`os`/`tempfile` would write to a local folder named `ram:` instead
(each test checks that none appeared) or fail. `ram://` lives in this process only, so the
feature classifier's training, which runs in a process of its own, is not covered here.
"""

from __future__ import annotations

import io
import json
import os
import uuid

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data, files, images, serving
from genzoo.data import builtin
from genzoo.evaluation import features
from genzoo.models import registry
from genzoo.serving.signatures import _Builder, with_shape_checks
from tests.small_models import SMALL_HPARAMS


@pytest.fixture
def ram(tmp_path, monkeypatch):
    """A fresh ram:// folder; the test runs in tmp_path, which must stay empty (no local `ram:`)."""
    monkeypatch.chdir(tmp_path)
    root = f"ram://genzoo-{uuid.uuid4().hex[:8]}"
    yield root
    assert os.listdir(tmp_path) == [], "something was written locally"
    for path in tf.io.gfile.glob(f"{root}/*"):  # ram:// keeps no folder entries: delete what is there
        (tf.io.gfile.rmtree if tf.io.gfile.isdir(path) else tf.io.gfile.remove)(path)


def _listing(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in tf.io.gfile.walk(root) for f in fs)


def test_atomic_writes_and_reads(ram):
    files.write_json(f"{ram}/run/config.json", {"a": 1})
    files.write_bytes(f"{ram}/run/config.json", b'{"a": 2}')  # replaces
    assert json.loads(files.read_text(f"{ram}/run/config.json")) == {"a": 2}
    assert _listing(ram) == ["run/config.json"]  # no temporary file left beside it
    assert files.isdir(f"{ram}/run") and files.exists(f"{ram}/run/config.json")
    assert files.abspath(f"{ram}/x") == f"{ram}/x" and files.join(ram, "a", "b") == f"{ram}/a/b"


def test_png_grids(ram):
    picture = images.grid(np.random.RandomState(0).randint(0, 256, (4, 5, 5, 3)), scale=2)
    images.save_png(f"{ram}/figures/grid.png", picture)
    np.testing.assert_array_equal(tf.io.decode_png(files.read_bytes(f"{ram}/figures/grid.png")).numpy(), picture)


def test_folder_and_npz_datasets(ram):
    for i in range(10):
        colour = np.zeros((4, 4, 3), np.uint8) + np.uint8(20 * i)
        tf.io.gfile.makedirs(f"{ram}/sprites/{'ab'[i % 2]}")
        with tf.io.gfile.GFile(f"{ram}/sprites/{'ab'[i % 2]}/{i}.png", "wb") as f:
            f.write(tf.io.encode_png(colour).numpy())
    ds, spec = data.load(f"folder:{ram}/sprites", "all")
    assert spec.class_names == ("a", "b") and len(list(ds)) == 10
    assert len(list(data.load(f"{ram}/sprites", "all")[0])) == 10  # a bare folder path, as docs/data.md allows
    arrays, labels = builtin.generate(20)
    buffer = io.BytesIO()  # np.savez needs tell(), which ram:// files lack
    np.savez(buffer, images=arrays, labels=labels, palette=np.array(builtin.PALETTE))
    files.write_bytes(f"{ram}/small.npz", buffer.getvalue())
    ds, spec = data.load(f"npz:{ram}/small.npz", "all")
    np.testing.assert_array_equal(np.stack([e["image"] for e in ds]), arrays)
    with pytest.raises(data.registry.UserError, match="file not found"):
        data.load(f"npz:{ram}/none.npz")


def test_exports_and_their_metadata(ram):
    model = registry.build("gan", builtin.SPEC, **SMALL_HPARAMS["gan"])  # the smallest graph: a generator
    # One signature, as serving.signatures makes each (tracing them all is most of the cost).
    functions = {"sample": with_shape_checks(_Builder(model, 4).functions()["sample"])}
    tf.io.gfile.makedirs(f"{ram}/serving/1")
    first = serving.export(model, f"{ram}/serving", max_num_samples=4, functions=functions)
    assert first == f"{ram}/serving/2"
    assert serving.versions(f"{ram}/serving") == [1, 2]
    assert not [name for name in tf.io.gfile.listdir(f"{ram}/serving") if name.startswith(".tmp")]
    info = serving.read_metadata(first)
    assert info["model"] == "gan" and info["model_config"]["spec"]["name"] == "shapes"
    loaded = tf.saved_model.load(first)
    request = {"num_samples": tf.constant(3), "seed": tf.constant(5, tf.int64), "temperature": tf.constant(1.0)}
    sample = loaded.signatures["sample"]
    got = sample(**{name: request[name] for name in sample.structured_input_signature[1]})
    np.testing.assert_array_equal(got["indices"], model.sample(3, 5))


def test_feature_classifiers_are_found_and_checked(ram):
    network = features.classifier_network(8, 8, 4, seed=3)
    rng = np.random.RandomState(0)
    train = (rng.randint(0, 256, (6, 8, 8, 3)).astype(np.uint8), np.full(6, -1))
    test = (train[0][:2], train[1][:2])
    folder = features.artefact_dir(f"{ram}/features", "d", features.artefact_key(train, test, 1, 0))
    files.write_bytes(files.join(folder, features.WEIGHTS_FILE), features._npy_bytes(features.flat_weights(network)))
    record = {"version": features.VERSION, "input_shape": [8, 8, 3], "num_classes": 4, "seed": 3,
              "weights_sha256": features._sha256(files.join(folder, features.WEIGHTS_FILE))}
    files.write_json(files.join(folder, "classifier.json"), record)
    # Found under the ram:// root and loaded from it: no training (that would run in another process).
    extractor = features.genzoo_extractor(f"{ram}/features", "d", lambda s: train if s == "train" else test, 0,
                                          epochs=1)
    cut = keras.Model(network.inputs, network.get_layer(features.FEATURE_LAYER).output)
    np.testing.assert_allclose(extractor(test[0]), cut(test[0].astype(np.float32)).numpy(), atol=1e-5)
    assert extractor.record["path"] == files.join(folder, features.WEIGHTS_FILE)


def test_user_feature_models(ram):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3)(inputs)))
    model.save(f"{ram}/user.keras")
    files.check_keras_file(f"{ram}/user.keras")
    extractor = features.user_extractor(f"{ram}/user.keras")
    assert extractor(np.zeros((2, 8, 8, 3), np.uint8)).shape == (2, 3)
    assert extractor.record["path"] == f"{ram}/user.keras"
    with pytest.raises(data.registry.UserError, match="file not found"):
        files.check_keras_file(f"{ram}/none.keras")
