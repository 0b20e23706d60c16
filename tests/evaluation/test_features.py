import concurrent.futures
import json
import os
from pathlib import Path

import keras
import numpy as np
import pytest

from genzoo.errors import UserError
from genzoo.evaluation import features


@pytest.fixture(scope="module")
def sprites():
    from genzoo.data import builtin, palette_to_rgb

    images, labels = builtin.generate(60)
    rgb = palette_to_rgb(images, builtin.PALETTE).numpy()
    return (rgb[:48], labels[:48]), (rgb[48:], labels[48:])


def test_rotation_task_for_unlabelled_square_images_and_flips_otherwise():
    square = np.arange(2 * 3 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3, 3)
    x, y = features.transformed(square)
    assert x.shape == (8, 3, 3, 3) and y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert np.array_equal(x[2], np.rot90(square[0])) and np.array_equal(x[4], square[0][::-1, ::-1])
    wide = np.zeros((2, 3, 5, 3), np.uint8)
    assert features.transformed(wide)[0].shape == (8, 3, 5, 3)
    _, _, task = features.task_arrays(square, np.array([-1, -1]), 0)
    assert task == "rotation"
    _, _, task = features.task_arrays(wide, np.array([-1, -1]), 0)
    assert task == "flip"
    _, labels, task = features.task_arrays(square, np.array([1, 0]), 2)
    assert task == "labels" and labels.tolist() == [1, 0]


def test_classifier_is_a_versioned_artefact_that_is_reused(tmp_path, sprites):
    calls = []

    def load_split(split):
        calls.append(split)
        return sprites[0] if split == "train" else sprites[1]

    extractor = features.genzoo_extractor(str(tmp_path), "npz:/data/x.npz", load_split, 4, epochs=1)
    key = features.artefact_key(sprites[0], sprites[1], 1, 0)
    folder = features.artefact_dir(str(tmp_path), "npz:/data/x.npz", key)
    with open(os.path.join(folder, "classifier.json")) as f:
        record = json.load(f)
    assert record["dataset"] == "npz:/data/x.npz" and record["version"] == features.VERSION
    assert record["task"] == "labels" and 0.0 <= record["test_accuracy"] <= 1.0 and record["key"] == key
    assert extractor.record["sha256"] == record["weights_sha256"]
    out = extractor(sprites[1][0])
    assert out.shape == (12, 128) and np.isfinite(out).all()
    again = features.genzoo_extractor(str(tmp_path), "npz:/data/x.npz", load_split, 4, epochs=1)
    assert os.listdir(tmp_path) == [os.path.basename(folder)]  # loaded, not trained into a second folder
    assert np.allclose(again(sprites[1][0]), out, atol=1e-5)
    assert folder.endswith(f"-v{features.VERSION}") and "data_x_npz" in folder
    # Other data or another recipe is another artefact.
    assert features.artefact_key(sprites[0], sprites[1], 2, 0) != key
    assert features.artefact_key(sprites[1], sprites[0], 1, 0) != key
    assert features.artefact_key(sprites[0], sprites[1], 1, 1) != key


def test_two_trainings_in_two_processes_give_the_same_file(tmp_path, sprites):
    # The three trainings run at once (each its own process and folder): mostly one-core start-up work.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        first, second, other = pool.map(
            lambda folder, seed: features.train_in_subprocess(sprites[0], sprites[1], 4, "x", str(tmp_path / folder),
                                                              epochs=2, seed=seed), "abc", (3, 3, 4))
    a = (tmp_path / "a" / features.WEIGHTS_FILE).read_bytes()
    assert a == (tmp_path / "b" / features.WEIGHTS_FILE).read_bytes()
    assert first["weights_sha256"] == second["weights_sha256"] and first["test_accuracy"] == second["test_accuracy"]
    assert other["weights_sha256"] != first["weights_sha256"]  # the seed matters: the check can fail


def test_a_corrupted_classifier_is_retrained_with_a_message(tmp_path, sprites, capsys):
    load_split = lambda split: sprites[0] if split == "train" else sprites[1]
    extractor = features.genzoo_extractor(str(tmp_path), "d", load_split, 4, epochs=1)
    folder = os.path.dirname(extractor.record["path"])
    weights = os.path.join(folder, features.WEIGHTS_FILE)
    good = Path(weights).read_bytes()
    with open(weights, "r+b") as f:  # one flipped byte in the last weight
        f.seek(-1, 2)
        f.write(bytes([good[-1] ^ 0xFF]))
    again = features.genzoo_extractor(str(tmp_path), "d", load_split, 4, epochs=1)
    assert "fails its check" in capsys.readouterr().out
    assert Path(weights).read_bytes() == good  # retrained to the same bits
    assert np.allclose(again(sprites[1][0]), extractor(sprites[1][0]))


@pytest.mark.parametrize("epochs", [0, -1, 1001, 2.5])
def test_bad_classifier_epochs_are_refused(epochs, tmp_path, sprites):
    with pytest.raises(UserError, match="--classifier_epochs must be an integer in 1-1000"):
        features.genzoo_extractor(str(tmp_path), "d", lambda split: sprites[0], 4, epochs=epochs)


def test_user_model_features_are_resized_and_averaged_over_space(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Conv2D(5, 3, padding="same")(inputs)  # a feature map, not a vector
    path = str(tmp_path / "user.keras")
    keras.Model(inputs, outputs).save(path)
    extractor = features.user_extractor(path)
    out = extractor(np.zeros((3, 20, 20, 3), np.uint8) + 7)
    assert out.shape == (3, 5) and extractor.record["kind"] == "user_model"


@pytest.mark.parametrize("name", ["missing.keras", "model.h5"])
def test_bad_user_model_path_is_a_user_error(tmp_path, name):
    with pytest.raises(UserError, match="--features"):
        features.user_extractor(str(tmp_path / name))
