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
  rotation}. Either way the features are its 128-unit penultimate layer. It is
  saved once as `<dir>/<dataset>-v<VERSION>/classifier.keras` with `classifier.json`
  (dataset, version, task, test accuracy, training budget) and reused, so every run
  evaluated against the same file gets comparable scores. Bump `VERSION` whenever
  the architecture or training recipe changes.
* **a user-supplied Keras model** (`.keras` file), for example InceptionV3 with
  downloaded weights for the literature's FID. It receives float32 RGB in [0, 255],
  resized (bilinear) to its input size; put any preprocessing inside the model. A
  feature map output is averaged over space.

Extractors take uint8 RGB images `[N, H, W, 3]` (`genzoo.data.to_rgb_uint8`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import keras
import numpy as np
import tensorflow as tf

from genzoo import files
from genzoo.errors import UserError

VERSION = 1
FEATURE_LAYER = "features"
NUM_TRANSFORMS = 4


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


def artefact_dir(root: str, dataset: str) -> str:
    """`root/<readable dataset name>-<hash>-v<VERSION>`: one folder per dataset and version."""
    readable = re.sub(r"[^A-Za-z0-9]+", "_", dataset).strip("_")[-40:]
    digest = hashlib.sha1(dataset.encode()).hexdigest()[:8]
    return os.path.join(root, f"{readable}-{digest}-v{VERSION}")


def train_classifier(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], num_classes: int,
                     dataset: str, out_dir: str, epochs: int = 15, seed: int = 0, verbose: int = 0) -> dict:
    """Trains, saves `classifier.keras` + `classifier.json` in `out_dir`, returns the JSON record.

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
    record = {
        "kind": "genzoo_classifier", "version": VERSION, "dataset": dataset, "task": task,
        "num_classes": classes, "test_accuracy": float(accuracy), "chance_accuracy": 1.0 / classes,
        "epochs": epochs, "seed": seed, "num_train_images": len(train[0]),
        "input_shape": list(x.shape[1:]), "feature_layer": FEATURE_LAYER, "feature_dim": 128,
    }
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "classifier.keras")
    tmp = os.path.join(out_dir, ".tmp-classifier.keras")  # keras needs the suffix; rename keeps it atomic
    model.save(tmp)
    os.replace(tmp, path)
    files.write_json(os.path.join(out_dir, "classifier.json"), record)  # written last: marks a complete artefact
    return record


# === Extractors ===
class FeatureExtractor:
    """uint8 RGB `[N, H, W, 3]` -> float32 features `[N, D]`; `record` goes into metrics.json."""

    def __init__(self, network: keras.Model, record: dict):
        self.network, self.record = network, record
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
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def user_extractor(path: str) -> FeatureExtractor:
    """A user's Keras model: its output (spatially averaged if a feature map) are the features."""
    network = _load_keras(path)
    record = {"kind": "user_model", "path": os.path.abspath(path), "sha256": _sha256(path),
              "input_shape": list(network.input_shape[1:]), "output_shape": list(network.output_shape[1:])}
    return FeatureExtractor(network, record)


def load_classifier(folder: str) -> FeatureExtractor:
    """genzoo's classifier from `folder` (classifier.keras + classifier.json), cut at `features`."""
    with open(os.path.join(folder, "classifier.json")) as f:
        record = json.load(f)
    if record.get("version") != VERSION:
        raise UserError(f"{folder}: classifier version {record.get('version')} is not the current {VERSION}")
    path = os.path.join(folder, "classifier.keras")
    network = keras.saving.load_model(path, compile=False)
    features = keras.Model(network.inputs, network.get_layer(FEATURE_LAYER).output)
    return FeatureExtractor(features, {**record, "path": os.path.abspath(path), "sha256": _sha256(path)})


def genzoo_extractor(root: str, dataset: str, load_split, num_classes: int, epochs: int = 15,
                     seed: int = 0, verbose: int = 0) -> FeatureExtractor:
    """The dataset's versioned classifier under `root`, trained first if it is not there yet.

    `load_split(split)` -> (uint8 RGB images, labels) for `train` and `test`.
    """
    folder = artefact_dir(root, dataset)
    if not os.path.exists(os.path.join(folder, "classifier.json")):
        if verbose:
            print(f"genzoo: training the feature classifier for {dataset} into {folder}")
        train_classifier(load_split("train"), load_split("test"), num_classes, dataset, folder, epochs, seed,
                         verbose=0)
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
