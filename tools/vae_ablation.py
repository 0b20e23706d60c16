"""VAE measurements behind docs/vae.md that the train/evaluate tools do not make.

  python tools/vae_ablation.py probe --learning_rate=2e-3 --steps=25 [--hparams='{"log_var_bound": 0}']
      The cvae's first steps on pokemon40: KL, the encoder's mean and log-variance ranges and
      the encoder/decoder gradient norms per step (what located the blow-up at 2e-3).
  python tools/vae_ablation.py long_run -- --model=cvae --epochs=100 --model_dir=runs/cvae100 [--learning_rate=1e-3]
      [--log_var_max=2] [--clipnorm=100] (this tool's flags before `--`, genzoo.tools.train's after)
      A training run through genzoo.tools.train with the step instrumented: every step whose loss
      is above 1,000 nats prints its loss, gradient norm, max |mean|, log-variance range and KL
      (what located the late blow-up at 2e-3 on `shapes`). --log_var_max bounds the log-variance
      above by this instead of log_var_bound; --clipnorm clips the gradient's global norm.
  python tools/vae_ablation.py shapes_labels [--hparams='{"label_maps": true}']
      The cvae recipe of tools/label_control.py (a test of tests/models/test_vae.py until
      2026-12-03) on `shapes`: the share of 200 samples the test's silhouette classifier assigns to the requested shape, at temperature 1 and 0.

The held-out bounds and C2ST of the ablation table come from genzoo.tools.train and
genzoo.tools.evaluate (commands in docs/vae.md).
"""

from __future__ import annotations

import argparse
import json

import keras
import numpy as np
import tensorflow as tf

from genzoo import data
from genzoo.distribute import global_mean
from genzoo.models import ConditionalVAE, registry


def probe(learning_rate: float, steps: int, hparams: dict, data_dir: str) -> None:
    ds, spec = data.load("pokemon40", "train", data_dir=data_dir)
    keras.utils.set_random_seed(0)
    model = registry.build("cvae", spec, seed=0, **hparams)
    model.compile_for_training(learning_rate)
    num_encoder = len(model.encoder.trainable_variables)
    for step, batch in zip(range(steps), ds.shuffle(1000, seed=0).repeat().batch(64)):
        images, labels = batch["image"], batch["label"]
        with tf.GradientTape() as tape:
            mean, log_var = model.encode(images, labels)
            reconstruction, kl = model.elbo_terms(images, labels, model.step_seed())
            kl = tf.reduce_sum(kl, -1)
            loss = global_mean(-reconstruction + model.kl_weight() * kl)
        gradients = tape.gradient(loss, model.trainable_variables)
        encoder_norm = float(tf.linalg.global_norm(gradients[:num_encoder]))
        decoder_norm = float(tf.linalg.global_norm(gradients[num_encoder:]))
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        print(f"step {step:3d} kl_weight {float(model.kl_weight()):.4f} "
              f"reconstruction {float(tf.reduce_mean(-reconstruction)):.4g} kl {float(tf.reduce_mean(kl)):.4g} "
              f"max|mean| {float(tf.reduce_max(tf.abs(mean))):.3g} "
              f"log_var [{float(tf.reduce_min(log_var)):.3g}, {float(tf.reduce_max(log_var)):.3g}] "
              f"grad encoder {encoder_norm:.3g} decoder {decoder_norm:.3g}", flush=True)


def shapes_labels(hparams: dict, epochs: int) -> None:
    keras.utils.set_random_seed(0)
    train, spec = data.load("shapes", "train")
    batches = train.shuffle(4608, seed=0).batch(64)
    silhouette = lambda images: tf.cast(tf.not_equal(images, 0), tf.float32)[..., None]
    classifier = keras.Sequential([
        keras.Input((20, 20, 1)), keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(spec.num_classes),
    ])
    classifier.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    classifier.fit(batches.map(lambda ex: (silhouette(ex["image"]), ex["label"])), epochs=2, verbose=0)
    model = ConditionalVAE(spec, **{"latent_dim": 16, "filters": 16, "hidden": 128, "kl_warmup_steps": 200,
                                    "seed": 1, **hparams})
    model.compile_for_training(2e-3)
    history = model.fit(batches, epochs=epochs, verbose=0).history
    labels = np.arange(200) % spec.num_classes
    for temperature in (1.0, 0.0):
        samples = model.sample(200, seed=5, labels=labels, temperature=temperature)
        accuracy = (np.argmax(classifier.predict(silhouette(samples), verbose=0), -1) == labels).mean()
        print(f"{json.dumps(hparams)} temperature {temperature}: {accuracy:.1%} classified as their label "
              f"(chance 25%); training KL {history['kl'][-1]:.2f} nats")


def long_run(log_var_max: float, clipnorm: float, train_argv: list[str]) -> None:
    import sys

    from absl import app

    from genzoo.losses import free_bits_kl
    from genzoo.models import base
    from genzoo.models.vae import vae
    from genzoo.tools import train

    if log_var_max:
        def encode(self, images, labels=None, training=False):
            stats = tf.cast(self.encoder(self._with_label(images, labels), training=training), tf.float32)
            mean, raw = tf.split(stats, 2, axis=-1)
            low = self.log_var_bound  # tanh-bounded below as the model does, by log_var_max above
            return mean, tf.where(raw > 0, log_var_max * tf.tanh(raw / log_var_max), low * tf.tanh(raw / low))
        vae.VAE.encode = encode
    if clipnorm:
        make_optimizer = base.make_optimizer
        base.make_optimizer = lambda rate, **kw: make_optimizer(rate, global_clipnorm=clipnorm, **kw)

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            mean, log_var = self.encode(batch["image"], batch["label"], training=True)
            reconstruction, kl = self.elbo_terms(batch["image"], batch["label"], self.step_seed(), training=True)
            per_example = -reconstruction + self.kl_weight() * free_bits_kl(kl, self.free_bits)
            loss = global_mean(per_example)
        gradients = tape.gradient(loss, self.trainable_variables)
        tf.cond(loss > 1000.0, lambda: tf.print(
            "step", self.optimizer.iterations, "loss", loss, "gradient norm", tf.linalg.global_norm(gradients),
            "max|mean|", tf.reduce_max(tf.abs(mean)), "log_var", tf.reduce_min(log_var), tf.reduce_max(log_var),
            "kl", tf.reduce_mean(tf.reduce_sum(kl, -1)), output_stream=sys.stdout), tf.no_op)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._report(reconstruction, tf.reduce_sum(kl, axis=-1), per_example)

    vae.VAE.train_step = train_step
    train.define_flags()
    app.run(train.main, argv=["train", *train_argv])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["probe", "long_run", "shapes_labels"])
    parser.add_argument("--log_var_max", type=float, default=0.0)
    parser.add_argument("--clipnorm", type=float, default=0.0)
    parser.add_argument("train_argv", nargs="*", help="long_run: genzoo.tools.train's flags, after --")
    parser.add_argument("--learning_rate", type=float, default=2e-3)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--hparams", default="{}", help="cvae hyper-parameters as JSON")
    parser.add_argument("--data_dir", default="/work/shared/data/pokemon")
    args = parser.parse_args()
    hparams = json.loads(args.hparams)
    if args.what == "probe":
        probe(args.learning_rate, args.steps, hparams, args.data_dir)
    elif args.what == "long_run":
        long_run(args.log_var_max, args.clipnorm, args.train_argv)
    else:
        shapes_labels(hparams, args.epochs)


if __name__ == "__main__":
    main()
