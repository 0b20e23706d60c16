"""Feature extractors for the sample-quality scores, kept as versioned artefacts.

Fréchet distance, KID and precision/recall compare images in a feature space, and
the score is only as meaningful (and only as comparable) as that space. genzoo
records the extractor it used in `metrics.json` and offers two kinds:

* **genzoo's classifier** (`train_classifier`): a small CNN trained on the
  dataset's own training split. With labels it predicts the class; without labels
  (the 20x20 `pokemon` set) it is trained on a self-supervised task instead:
  which of 4 rotations (0, 90, 180, 270 degrees; Gidaris et al. 2018, *Unsupervised
  Representation Learning by Predicting Image Rotations*) was applied, or for
  non-square images which of {identity, left-right flip, up-down flip, 180-degree
  rotation}. Either way the features are its 128-unit penultimate layer.
  It is **reproducible**: trained in a process of its own with TensorFlow's op
  determinism and a fixed seed (the setting cannot be undone in a process, so it must
  not leak into the caller), the same data and recipe give the same weights, bit for
  bit (`tests/evaluation/test_features.py` trains twice in two processes). It is kept
  as `<dir>/<dataset>-<key>-v<VERSION>/classifier.weights.npy` (every weight, float32,
  in layer order: unlike a `.keras` zip it holds no save date) with `classifier.json`
  (dataset, key, recipe, task, test accuracy, the weights' sha256). The key hashes the
  training and test images and labels with the recipe (epochs, seed, VERSION), so
  other data or another budget is another artefact; the sha256 is checked on every
  load, and a mismatch retrains with a message. Bump `VERSION` whenever the
  architecture or training recipe changes.
* **a user-supplied Keras model** (`.keras` file), for example InceptionV3 with
  downloaded weights for the literature's FID. It receives float32 RGB in [0, 255],
  resized (bilinear) to its input size; put any preprocessing inside the model. A
  feature map output is averaged over space.

Extractors take uint8 RGB images `[N, H, W, 3]` (`genzoo.data.to_rgb_uint8`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from genzoo import files
from genzoo.errors import UserError

VERSION = 2  # 2: deterministic training in its own process, weights as .npy, data-and-recipe key
FEATURE_LAYER = "features"
NUM_TRANSFORMS = 4
MAX_EPOCHS = 1000
WEIGHTS_FILE = "classifier.weights.npy"


# === The classifier ===
def classifier_network(height: int, width: int, num_classes: int, seed: int = 0) -> keras.Model:
    """Two conv blocks and a 128-unit `features` layer; input float RGB in [0, 255]."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((height, width, 3), name="pixels")
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)
    x = keras.layers.Dropout(0.3)(features)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="genzoo_classifier")


def transformed(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The self-supervised task: every image under each of 4 transforms, labelled 0-3."""
    images = np.asarray(images)
    if images.shape[1] == images.shape[2]:
        views = [np.rot90(images, k, axes=(1, 2)) for k in range(NUM_TRANSFORMS)]
    else:
        views = [images, images[:, :, ::-1], images[:, ::-1], images[:, ::-1, ::-1]]
    labels = np.repeat(np.arange(NUM_TRANSFORMS), len(images))
    return np.concatenate(views), labels.astype(np.int32)


def task_arrays(images: np.ndarray, labels: np.ndarray, num_classes: int):
    """(inputs, targets, task name): class labels when the dataset has them, else transforms."""
    if num_classes >= 2 and (labels >= 0).all():
        return images, labels.astype(np.int32), "labels"
    x, y = transformed(images)
    return x, y, "rotation" if images.shape[1] == images.shape[2] else "flip"


def check_epochs(epochs) -> int:
    if not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        raise UserError(f"--classifier_epochs must be an integer in 1-{MAX_EPOCHS}, got {epochs!r}")
    return epochs


def artefact_key(train, test, epochs: int, seed: int) -> str:
    """sha256 over the training and test images and labels and the recipe: the artefact's identity."""
    digest = hashlib.sha256(json.dumps({"epochs": epochs, "seed": seed, "version": VERSION}).encode())
    for array in (*train, *test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def artefact_dir(root: str, dataset: str, key: str) -> str:
    """`root/<readable dataset name>-<key>-v<VERSION>`: one folder per data, recipe and version."""
    readable = re.sub(r"[^A-Za-z0-9]+", "_", dataset).strip("_")[-40:]
    return files.join(root, f"{readable}-{key[:16]}-v{VERSION}")


def flat_weights(model: keras.Model) -> np.ndarray:
    return np.concatenate([np.asarray(w, np.float32).ravel() for w in model.get_weights()])


def set_flat_weights(model: keras.Model, flat: np.ndarray) -> None:
    weights, start = [], 0
    for w in model.get_weights():
        weights.append(flat[start:start + w.size].reshape(w.shape))
        start += w.size
    if start != flat.size:
        raise ValueError(f"{flat.size} stored numbers for a network of {start} weights")
    model.set_weights(weights)


def train_classifier(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], num_classes: int,
                     dataset: str, out_dir: str, epochs: int = 15, seed: int = 0, verbose: int = 0) -> dict:
    """Trains in this process, saves the weights + `classifier.json` in `out_dir`, returns the record.

    Deterministic only with op determinism on (`train_in_subprocess` does that).
    `train`, `test`: (uint8 RGB images `[N, H, W, 3]`, int labels, -1 when unlabelled).
    """
    x, y, task = task_arrays(*train, num_classes)
    tx, ty, _ = task_arrays(*test, num_classes)
    classes = num_classes if task == "labels" else NUM_TRANSFORMS
    model = classifier_network(x.shape[1], x.shape[2], classes, seed)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x.astype(np.float32), y, batch_size=64, epochs=epochs, shuffle=True, verbose=verbose)
    _, accuracy = model.evaluate(tx.astype(np.float32), ty, batch_size=256, verbose=0)
    files.makedirs(out_dir)
    weights = flat_weights(model)
    files.write_bytes(files.join(out_dir, WEIGHTS_FILE), _npy_bytes(weights))
    record = {
        "kind": "genzoo_classifier", "version": VERSION, "dataset": dataset, "task": task,
        "key": artefact_key(train, test, epochs, seed), "num_classes": classes,
        "test_accuracy": float(accuracy), "chance_accuracy": 1.0 / classes,
        "epochs": epochs, "seed": seed, "num_train_images": len(train[0]),
        "input_shape": list(x.shape[1:]), "feature_layer": FEATURE_LAYER, "feature_dim": 128,
        "weights_sha256": _sha256(files.join(out_dir, WEIGHTS_FILE)), "tensorflow": tf.__version__,
    }
    files.write_json(files.join(out_dir, "classifier.json"), record)  # written last: marks a complete artefact
    return record


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def train_in_subprocess(train, test, num_classes: int, dataset: str, out_dir: str, epochs: int, seed: int) -> dict:
    """`train_classifier` in a fresh Python process with op determinism on (it cannot be turned
    off again, so it must not leak into the caller); the data travels as an .npz, no pickle."""
    with tempfile.TemporaryDirectory(prefix="genzoo-classifier-") as scratch:
        job = os.path.join(scratch, "job.npz")
        np.savez(job, train_x=train[0], train_y=train[1], test_x=test[0], test_y=test[1])
        args = json.dumps({"job": job, "num_classes": num_classes, "dataset": dataset, "out_dir": out_dir,
                           "epochs": epochs, "seed": seed})
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-m", "genzoo.evaluation.classifier_job", args],
                              capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"training the feature classifier for {dataset} failed: {tail[0]}")
    return json.loads(files.read_text(files.join(out_dir, "classifier.json")))


# === Extractors ===
class FeatureExtractor:
    """uint8 RGB `[N, H, W, 3]` -> float32 features `[N, D]`; `record` goes into metrics.json."""

    def __init__(self, network: keras.Model, record: dict, classifier: keras.Model | None = None):
        self.network, self.record = network, record
        self.classifier = classifier  # genzoo's label classifier whole (logits), for class control
        shape = network.input_shape
        self.size = tuple(shape[1:3]) if None not in shape[1:3] else None
        self.channels = shape[-1]
        self._features = tf.function(lambda x: network(x, training=False), reduce_retracing=True)

    def _prepare(self, images) -> tf.Tensor:
        x = tf.cast(tf.convert_to_tensor(images), tf.float32)
        if self.size and tuple(x.shape[1:3]) != self.size:
            x = tf.image.resize(x, self.size, method="bilinear")
        if self.channels == 1:
            x = tf.image.rgb_to_grayscale(x)
        return x

    def classify(self, images, batch_size: int = 256) -> np.ndarray:
        """Predicted labels of uint8 RGB images (genzoo's classifier of a labelled dataset only)."""
        x = np.asarray(images, np.float32)
        return np.concatenate([np.argmax(self.classifier(x[i:i + batch_size], training=False), axis=-1)
                               for i in range(0, len(x), batch_size)])

    def __call__(self, images, batch_size: int = 256) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"features need uint8 RGB [N, H, W, 3], got shape {images.shape}")
        out = []
        for start in range(0, len(images), batch_size):
            y = self._features(self._prepare(images[start:start + batch_size]))
            y = tf.reshape(y, [tf.shape(y)[0], -1, y.shape[-1]])  # feature maps: average over space
            out.append(tf.reduce_mean(y, axis=1).numpy())
        return np.concatenate(out).astype(np.float64)


def _load_keras(path: str) -> keras.Model:
    files.check_keras_file(path)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001 - any load failure is the file's problem
        raise UserError(f"--features={path}: not a loadable Keras model ({type(err).__name__})") from None


def _sha256(path: str) -> str:
    return hashlib.sha256(files.read_bytes(path)).hexdigest()


def user_extractor(path: str) -> FeatureExtractor:
    """A user's Keras model: its output (spatially averaged if a feature map) are the features."""
    network = _load_keras(path)
    record = {"kind": "user_model", "path": files.abspath(path), "sha256": _sha256(path),
              "input_shape": list(network.input_shape[1:]), "output_shape": list(network.output_shape[1:])}
    return FeatureExtractor(network, record)


def load_classifier(folder: str) -> FeatureExtractor:
    """genzoo's classifier from `folder` (weights + classifier.json), cut at `features`.

    Raises `ValueError` when the folder is incomplete, its record corrupt (not JSON, a field
    missing or of the wrong type), of another version, or its weights' sha256 differs from
    the record; `genzoo_extractor` then trains it again.
    """
    try:
        record = json.loads(files.read_text(files.join(folder, "classifier.json")))
    except (tf.errors.OpError, ValueError) as err:  # UnicodeDecodeError and JSON errors are ValueErrors
        raise ValueError(f"classifier.json unreadable ({type(err).__name__})") from None
    if not isinstance(record, dict):
        raise ValueError("classifier.json is not a JSON object")  # noqa: TRY004 - callers catch ValueError
    if record.get("version") != VERSION:
        raise ValueError(f"classifier version {record.get('version')} is not the current {VERSION}")
    path = files.join(folder, WEIGHTS_FILE)
    digest = _sha256(path) if files.exists(path) else None
    if digest != record.get("weights_sha256"):
        raise ValueError(f"{WEIGHTS_FILE} does not match the sha256 in classifier.json")
    try:
        height, width, _ = record["input_shape"]
        network = classifier_network(int(height), int(width), int(record["num_classes"]), int(record["seed"]))
        set_flat_weights(network, np.load(io.BytesIO(files.read_bytes(path)), allow_pickle=False))
    except (KeyError, TypeError, ValueError) as err:  # a field missing or wrong, or another network's weights
        raise ValueError(f"classifier.json does not describe {WEIGHTS_FILE} ({type(err).__name__}: {err})") from None
    features = keras.Model(network.inputs, network.get_layer(FEATURE_LAYER).output)
    classifier = network if record.get("task") == "labels" else None
    return FeatureExtractor(features, {**record, "path": files.abspath(path), "sha256": digest}, classifier)


def genzoo_extractor(root: str, dataset: str, load_split, num_classes: int, epochs: int = 15,
                     seed: int = 0, verbose: int = 0) -> FeatureExtractor:
    """The classifier for this data and recipe under `root`, trained first if it is not there yet
    (or if the stored one fails its checks: then with a message saying why).

    `load_split(split)` -> (uint8 RGB images, labels) for `train` and `test`.
    """
    check_epochs(epochs)
    root = files.expanduser(root)
    train, test = load_split("train"), load_split("test")
    folder = artefact_dir(root, dataset, artefact_key(train, test, epochs, seed))
    if files.exists(files.join(folder, "classifier.json")):
        try:
            return load_classifier(folder)
        except ValueError as err:
            print(f"genzoo: the feature classifier in {folder} fails its check ({err}); training it again")
    elif verbose:
        print(f"genzoo: training the feature classifier for {dataset} into {folder}")
    train_in_subprocess(train, test, num_classes, dataset, folder, epochs, seed)
    return load_classifier(folder)


def arrays(ds: tf.data.Dataset):
    """(encoded images, labels) of an unbatched `genzoo.data.load` dataset; (None, None) when empty."""
    batches = list(ds.batch(1024).as_numpy_iterator())
    if not batches:
        return None, None
    return np.concatenate([b["image"] for b in batches]), np.concatenate([b["label"] for b in batches])


def dataset_extractor(root: str, dataset: str, spec, encoding=None, data_dir=None, tfds_dir=None, epochs: int = 15,
                      train=None, verbose: int = 0) -> FeatureExtractor:
    """genzoo's classifier for `dataset` as `genzoo.data.load` gives it, trained first if missing.

    One artefact per dataset and `encoding` (a binarised dataset is a different image
    set); the evaluate tool and the training loop's quality hook share it. `train`:
    the training split's (encoded images, labels) when the caller holds them already.
    """
    from genzoo import data

    load = {"encoding": encoding, "data_dir": data_dir, "tfds_dir": tfds_dir}

    def load_split(which):
        images, labels = train if which == "train" and train is not None else arrays(
            data.load(dataset, which, **load)[0])
        return data.to_rgb_uint8(images, spec).numpy(), labels

    key = dataset if not encoding else f"{dataset}@{encoding}"
    return genzoo_extractor(root, key, load_split, spec.num_classes, epochs, verbose=verbose)
