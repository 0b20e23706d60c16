"""Do the conditional models draw the class they are asked for? Short trainings on `shapes`.

  python tools/label_control.py [--models=gated_pixel_cnn,cvae,cgan]

Each conditional model is trained briefly on the built-in `shapes` (the label is the
shape), then draws samples for every label, and a small CNN trained on the real images
names their shape. Prints one line per model (share named as requested, the bound, the
seconds it took) and exits 1 when a share is at or below its bound. The runs and their
bounds were unit tests until 2026-12-03: together 211 s of the suite on a 2-core AVX2 VM.
The tests keep the fast part (a label changes the samples: tests/models/test_contract.py).
Chance is 1/4 everywhere; issue 16 asks for 90% with the default recipes.

First run as a tool (2026-12-04, idle 2-core AVX2 VM, 1 min 36 s in all): gated_pixel_cnn
75.0%, cvae 40.5%, cgan 57.5%, every one above its bound and far below 90%.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout

import keras
import numpy as np
import tensorflow as tf

from genzoo import data
from genzoo.models import ConditionalGAN, ConditionalVAE
from genzoo.models.autoregressive import GatedPixelCNN
from genzoo.models.gan.gan import PLAIN_RECIPE


def _classifier(inputs, body, train, held_out, epochs):
    """A small CNN trained on real labelled shapes (`train`, `held_out`: (images, labels));
    returns predict -> labels. The judge must know the shapes: 95% on the held-out images."""
    keras.utils.set_random_seed(1)
    x = keras.Input(inputs[0], dtype=inputs[1])
    model = keras.Model(x, keras.layers.Dense(4)(body(x)))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(*train, batch_size=64, epochs=epochs, verbose=0)
    classify = lambda x: np.argmax(model.predict(x, batch_size=400, verbose=0), axis=-1)
    accuracy = float(np.mean(classify(held_out[0]) == np.asarray(held_out[1])))
    if accuracy < 0.95:
        raise SystemExit(f"the shape classifier names {accuracy:.1%} of held-out shapes (95% needed)")
    return classify


def _conv_body(first):
    def body(x):
        h = keras.layers.Conv2D(16, 3, activation="relu", padding="same")(first(x))
        h = keras.layers.Conv2D(32, 3, activation="relu", padding="same")(keras.layers.MaxPooling2D()(h))
        return keras.layers.GlobalMaxPooling2D()(h)
    return body


def gated_pixel_cnn() -> tuple[float, float]:
    """500 steps at batch 32; 8 samples per class. Chance 0.25; 0.81 when written, 0.625 after
    Adam got summed embedding gradients (2026-12-03), 0.75 as a tool (2026-12-04)."""
    images, labels, spec = _shapes("train")
    keras.utils.set_random_seed(0)
    model = GatedPixelCNN(spec, filters=16, layers=3, embed_dim=8)
    model.compile_for_training(5e-3)
    step = tf.function(model.train_step)
    batches = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
    for batch in batches.shuffle(len(images), seed=0).repeat().batch(32).take(500):
        step(batch)
    wanted = np.repeat(np.arange(spec.num_classes, dtype=np.int32), 8)
    samples = model.sample(len(wanted), seed=0, labels=wanted).numpy()
    classify = _classifier((images.shape[1:], "int32"), _conv_body(keras.layers.Embedding(spec.num_colors, 4)),
                           (images, labels), _shapes("test")[:2], epochs=2)
    return float(np.mean(classify(samples) == wanted)), 0.5


def _shapes(split, encoding=None):
    """The built-in `shapes` as arrays: images, labels (the shape) and the spec."""
    ds, spec = data.load("shapes", split, encoding=encoding)
    arrays = next(ds.batch(100_000).as_numpy_iterator())
    return arrays["image"], arrays["label"].astype(np.int32), spec


def cvae() -> tuple[float, float]:
    """6 epochs at batch 64, 200 samples at temperature 0 (the silhouettes without pixel
    noise). 32% is two standard deviations above chance over 200; 42.0% when written,
    40.5% as a tool (2026-12-04)."""
    train, spec = data.load("shapes", "train")
    keras.utils.set_random_seed(0)
    batches = train.shuffle(4608, seed=0).batch(64)
    classify = _classifier(((20, 20, 1), "float32"), _conv_body(lambda x: x), _shapes("train", "binary")[:2],
                           _shapes("test", "binary")[:2], epochs=2)
    model = ConditionalVAE(spec, latent_dim=16, filters=16, hidden=128, kl_warmup_steps=200, seed=1)
    model.compile_for_training(2e-3)
    model.fit(batches, epochs=6, verbose=0)
    wanted = np.arange(200) % spec.num_classes
    samples = model.sample(200, seed=5, labels=wanted, temperature=0.0)
    silhouettes = tf.cast(tf.not_equal(samples, 0), tf.float32)[..., None]
    return float(np.mean(classify(silhouettes) == wanted)), 0.32


def cgan() -> tuple[float, float]:
    """600 steps at batch 64 on binary silhouettes (a generator learns one channel's outlines
    well before 8 fill colours); 100 samples per class. The bound is 5 standard deviations
    above chance over 400 draws, 35.8%; 51.0-54.3% with seeds 0, 1, 2 when written (57.5% as a
    tool, 2026-12-04), 29-35% without the class head (aux_weight=0)."""
    images, labels, spec = _shapes("train", "binary")
    classify = _classifier(((20, 20, 1), "float32"), _conv_body(lambda x: x), (images, labels),
                           _shapes("test", "binary")[:2], epochs=3)
    keras.utils.set_random_seed(0)
    # The plain game, as measured (shapes' own cgan recipe is for full-size palette runs); aux_weight 1 (AC-GAN).
    model = ConditionalGAN(spec, latent_dim=8, seed=0, **{**PLAIN_RECIPE, "filters": 8})
    model.compile_for_training(1e-3)
    count = int(tf.shape(images)[0])

    @tf.function
    def train_100_steps(start):
        for i in tf.range(start, start + 100):
            index = tf.random.stateless_uniform([64], [0, i], 0, count, tf.int32)
            model.train_step({"image": tf.gather(images, index), "label": tf.gather(labels, index)})

    for start in range(0, 600, 100):
        train_100_steps(tf.constant(start, tf.int64))
    wanted = np.repeat(np.arange(4), 100)
    share = float(np.mean(classify(model.sample(len(wanted), seed=11, labels=wanted)) == wanted))
    return share, 0.25 + 5 * math.sqrt(0.25 * 0.75 / len(wanted))


RUNS = {"gated_pixel_cnn": gated_pixel_cnn, "cvae": cvae, "cgan": cgan}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(RUNS), help="comma-separated: " + ", ".join(RUNS))
    names = parser.parse_args().models.split(",")
    unknown = sorted(set(names) - set(RUNS))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    failed = False
    for name in names:
        start = time.time()
        share, bound = RUNS[name]()
        failed |= share <= bound
        print(f"{name}: {share:.1%} of samples show their label (bound {bound:.1%}, chance 25.0%) "
              f"{'ok' if share > bound else 'BELOW THE BOUND'}, {time.time() - start:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
