"""Evaluates a trained run: `python -m genzoo.tools.evaluate --model_dir=runs/vae --out=eval/vae`.

Writes into --out: `metrics.json` (likelihood or its bounds, sample-quality scores
with their spread over seeds, the memorisation audit, the feature extractor used,
the command), the PNG figures, and the same scalars to TensorBoard under `logs/`.
Everything is a function of the command and --seed. See docs/evaluation.md.
"""

from __future__ import annotations

import os
import sys

from absl import flags

from genzoo import files
from genzoo.files import DEFAULT_FEATURES_DIR
from genzoo.tools import common


def define_flags():
    flags.DEFINE_string("model_dir", None, "A run folder written by genzoo.tools.train.")
    common.define_checkpoint_flag()
    flags.DEFINE_string("dataset", None, "Held-out data (default: the run's training dataset).")
    flags.DEFINE_string("data_dir", None, "Local copy of the Pokémon files (default: the run's).")
    flags.DEFINE_string("tfds_dir", None, "Prepared TFDS records (default: the run's).")
    # Strings, not enums, for one-line errors: absl's own enum check prints two lines and exits 1.
    flags.DEFINE_string("split", "test", "Held-out split to compare with: test | train | all.")
    flags.DEFINE_string("out", None, "Output folder (default: MODEL_DIR/eval).")
    flags.DEFINE_integer("seed", 0, "Base seed: sampling seeds are seed, seed+1, ... (one per --num_seeds).")
    flags.DEFINE_integer("num_samples", 1000, "Generated images per seed for the sample-quality scores.")
    flags.DEFINE_integer("num_seeds", 3, "Sampling seeds; scores are reported as mean and spread over them.")
    flags.DEFINE_string("iw_samples", "1,8,64", "VAE: importance samples k of each bound (1 is the ELBO).")
    flags.DEFINE_string("features", None, "A .keras feature model (e.g. InceptionV3); default: genzoo's classifier.")
    flags.DEFINE_string("features_dir", DEFAULT_FEATURES_DIR, "Where genzoo's versioned classifiers are kept.")
    flags.DEFINE_integer("classifier_epochs", 15, "Epochs when genzoo's classifier must be trained first.")
    flags.DEFINE_integer("pr_k", 3, "k of the k-nearest-neighbour manifolds of precision/recall.")
    flags.DEFINE_float("temperature", 1.0, "Autoregressive models: sampling temperature.")
    common.define_sampling_flags()
    flags.DEFINE_integer("scale", 0, "Pixel upscale factor of the figures (0: automatic).")


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise common.UserError(f"--iw_samples must be comma-separated integers, got {text!r}") from None
    if not ks or min(ks) < 1 or max(ks) > common.MAX_IMAGES:
        raise common.UserError(f"--iw_samples must be integers in 1-{common.MAX_IMAGES}, got {text!r}")
    return sorted(set(ks))


def _flat_scalars(metrics: dict, prefix="") -> dict:
    out = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_scalars(value, name + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and not key.endswith("seed"):
            out[name] = float(value)
    return out


def evaluate(model_dir, out, dataset=None, data_dir=None, tfds_dir=None, split="test", seed=0, num_samples=1000,
             num_seeds=3, iw_samples=(1, 8, 64), features=None, features_dir=DEFAULT_FEATURES_DIR,
             classifier_epochs=15, pr_k=3, temperature=1.0, scale=0, command=None, verbose=1,
             checkpoint="best", preset=None, guidance=None, one_body=None) -> dict:
    """Everything the tool does, importable without flags; returns the metrics dict."""
    import numpy as np
    import tensorflow as tf

    from genzoo import data, images
    from genzoo.evaluation import features as feats
    from genzoo.evaluation import (
        figures,
        generate,
        likelihood,
        memorisation,
        pixel_statistics,
        sample_quality,
        two_sample,
        two_sample_scores,
    )
    from genzoo.models import capabilities
    from genzoo.models.capabilities import has
    from genzoo.training import runs

    if preset:
        from genzoo import presets

        info = presets.card(preset)
        model, config = presets.load(preset), {**info, "checkpoint": f"preset:{preset}"}
    else:
        model, config = runs.load_model(model_dir, checkpoint)
    train_cfg = config["train"]
    common.apply_sampling_flags(model, train_cfg["model"], guidance, one_body)
    dataset = dataset or train_cfg["dataset"]
    load = {"encoding": train_cfg["encoding"], "data_dir": data_dir or train_cfg["data_dir"],
            "tfds_dir": tfds_dir or train_cfg["tfds_dir"]}
    heldout_ds, spec = data.load(dataset, split, **load)
    train_ds, _ = data.load(dataset, "train", **load)
    if (spec.image_shape, spec.encoding, spec.palette) != (model.spec.image_shape, model.spec.encoding,
                                                           model.spec.palette):
        raise common.UserError(f"--dataset={dataset}: its images ({spec.encoding} {spec.image_shape}) are not the "
                               f"model's ({model.spec.encoding} {model.spec.image_shape})")
    heldout, heldout_labels = feats.arrays(heldout_ds)
    train_images, train_labels = feats.arrays(train_ds)
    if heldout is None or len(heldout) < 2 or train_images is None:
        raise common.UserError(f"--dataset={dataset} --split={split}: fewer than 2 images to compare with")
    to_rgb = lambda x: data.to_rgb_uint8(x, spec).numpy()
    heldout_rgb, train_rgb = to_rgb(heldout), to_rgb(train_images)
    scale = scale or images.auto_scale(spec.height)
    name = train_cfg["model"]
    seeds = list(range(seed, seed + num_seeds))
    metrics = {"model": name, "model_dir": files.abspath(model_dir) if model_dir else None, "preset": preset,
               "dataset": dataset, "split": split,
               "seed": seed, "num_heldout_images": len(heldout), "command": command}
    metrics["checkpoint"] = config["checkpoint"]
    metrics["train_step"] = common.checkpoint_step(config["checkpoint"])
    if has(model, capabilities.Guided):
        metrics["guidance"] = model.guidance
    if has(model, capabilities.OneBody):
        metrics["one_body"] = model.one_body

    # The feature extractor first: a bad --features fails before the slow parts.
    if features:
        extractor = feats.user_extractor(features)
    else:
        extractor = feats.dataset_extractor(features_dir, dataset, spec, epochs=classifier_epochs,
                                            train=(train_images, train_labels), verbose=verbose, **load)

    # === Likelihood ===
    if has(model, capabilities.ExactLikelihood):
        metrics["likelihood"] = {"kind": "exact", **likelihood.summarise(
            likelihood.exact_log_probs(model, heldout_ds), spec.num_dims)}
    elif has(model, capabilities.LikelihoodBound):
        bounds = likelihood.vae_bounds(model, heldout_ds, iw_samples, seed)
        metrics["likelihood"] = {"kind": "importance_weighted_bound", "note": "k=1 is the ELBO; NLL upper bounds",
                                 "bounds": bounds}
    else:
        metrics["likelihood"] = {"kind": "none", "note": f"{name} defines no likelihood"}
    if verbose:
        print(f"genzoo: likelihood done ({metrics['likelihood']['kind']})")

    # === Sample quality ===
    generated = {}

    def generate_rgb(s):
        generated[s] = to_rgb(generate(model, num_samples, s, temperature))
        return generated[s]

    quality = sample_quality(extractor, heldout_rgb, generate_rgb, seeds, pr_k)
    # The same scores for training images in place of samples: what a model that draws
    # new images from the data distribution would score at this sample size.
    reference = sample_quality(
        extractor, heldout_rgb,
        lambda s: train_rgb[np.random.default_rng(s).choice(len(train_rgb), min(num_samples, len(train_rgb)), False)],
        seeds, pr_k)
    metrics["sample_quality"] = {"features": extractor.record, "num_samples": num_samples, "seeds": seeds,
                                 "scores": quality, "training_images_reference": reference}
    if verbose:
        print(f"genzoo: Fréchet distance {quality['frechet_distance']['mean']:.3f} "
              f"+- {quality['frechet_distance']['std']:.3f}")

    # === Two-sample tests (docs/evaluation.md): samples vs held-out, training vs held-out the floor ===
    samples_rgb = generated[seeds[0]]
    c2st_seeds = seeds  # the sampling seeds: the training loop's quality hook scores the same way
    metrics["two_sample"] = {
        "samples_vs_heldout": two_sample_scores(heldout_rgb, samples_rgb, c2st_seeds, extractor, diagnose=True),
        "training_vs_heldout_reference": two_sample_scores(heldout_rgb, train_rgb, c2st_seeds, extractor),
    }
    if verbose:
        c2st = metrics["two_sample"]["samples_vs_heldout"]["c2st"]
        print(f"genzoo: C2ST accuracy {c2st['accuracy']:.3f} +- {c2st['std']:.3f} "
              f"({c2st['num_per_side']} images a side; 0.5 = indistinguishable)")
        scores = metrics["two_sample"]["samples_vs_heldout"]
        print(f"genzoo: without the pixel statistics {scores['c2st_pixels_only']['accuracy']:.3f}; "
              f"furthest from the held-out images: {pixel_statistics.furthest(scores['pixel_statistics'])}")

    # === Class control (conditional models, with genzoo's label classifier) ===
    if model.conditional and extractor.classifier is not None:
        from genzoo.evaluation.class_control import class_control

        per_class = max(1, min(100, num_samples // spec.num_classes))
        metrics["class_control"] = {
            **class_control(model, extractor.classify, to_rgb, spec.num_classes, per_class, seed, temperature),
            "classifier_heldout_accuracy": float(np.mean(extractor.classify(heldout_rgb) == heldout_labels))}
        if verbose:
            control = metrics["class_control"]
            print(f"genzoo: class control {control['accuracy']:.3f} (classifier on held-out images "
                  f"{control['classifier_heldout_accuracy']:.3f}, chance {control['chance']:.3f})")

    # === Memorisation ===
    audit = memorisation.audit(samples_rgb, train_rgb, heldout_rgb)
    metrics["memorisation"] = memorisation.summary(audit)
    # Samples told from the training images, beside the held-out images' own score against them:
    # a model that copies is closer to its training set than new images are.
    metrics["memorisation"]["c2st_samples_vs_training"] = two_sample.c2st(train_rgb, samples_rgb, seeds=c2st_seeds)
    metrics["memorisation"]["c2st_heldout_vs_training_reference"] = two_sample.c2st(
        train_rgb, heldout_rgb, seeds=c2st_seeds)
    written = {}

    def save(filename, picture):
        images.save_png(os.path.join(out, filename), picture)
        written[filename] = list(picture.shape[:2])

    save("memorisation_pairs.png", memorisation.pairs_picture(samples_rgb, train_rgb, audit, scale=scale))

    # === Figures ===
    save("samples.png", figures.sample_grid(model, 64, seed, scale, temperature))
    few = heldout[:16]
    few_labels = heldout_labels[:16] if model.conditional else None
    if has(model, capabilities.Encoder) and has(model, capabilities.Decoder):
        save("latent_traversal.png", figures.latent_traversal(model, few, few_labels, scale=scale))
        save("interpolation.png", figures.vae_interpolation(model, heldout[:8],
                                                            None if few_labels is None else few_labels[:8], scale=scale))
    elif has(model, capabilities.CodeSpace):
        save("interpolation.png", figures.code_interpolation(model, 4, 9, seed, scale=scale))
    if has(model, capabilities.Completer):
        save("completions.png", figures.completions(model, heldout[:8], seed, scale=scale, temperature=temperature,
                                                    labels=None if few_labels is None else few_labels[:8]))
    metrics["figures"] = written

    files.write_json(os.path.join(out, "metrics.json"), metrics)
    writer = tf.summary.create_file_writer(os.path.join(out, "logs"))
    with writer.as_default(step=metrics["train_step"]):
        for tag, value in _flat_scalars({k: metrics[k] for k in ("likelihood", "sample_quality", "two_sample", "memorisation")}).items():
            tf.summary.scalar(tag, value)
    writer.close()
    return metrics


def main(argv):
    if len(argv) > 1:
        raise common.UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    FLAGS = flags.FLAGS
    # Checks that need no TensorFlow come first, so a typo fails in a fraction of a second.
    common.check_model_source(FLAGS)
    common.check_guidance_flag(FLAGS.guidance)
    common.check_run_folder(FLAGS.model_dir)
    if FLAGS.features:
        files.check_keras_file(FLAGS.features)
    if FLAGS.split not in ("train", "test", "all"):
        raise common.UserError(f"--split must be one of train, test, all; got {FLAGS.split!r}")
    common.check_range("num_samples", FLAGS.num_samples, 2, common.MAX_IMAGES)
    common.check_range("num_seeds", FLAGS.num_seeds, 1, 100)
    common.check_range("seed", FLAGS.seed, 0, common.MAX_SEED - 100)
    if FLAGS.out:
        common.check_output_folder("out", FLAGS.out)
    if FLAGS.pr_k < 1:
        raise common.UserError(f"--pr_k must be at least 1, got {FLAGS.pr_k}")
    if FLAGS.temperature < 0:
        raise common.UserError(f"--temperature must be >= 0, got {FLAGS.temperature}")
    if not 1 <= FLAGS.classifier_epochs <= 1000:
        raise common.UserError(f"--classifier_epochs must be an integer in 1-1000, got {FLAGS.classifier_epochs}")
    ks = _parse_ks(FLAGS.iw_samples)
    import warnings

    # Keras warns when a functional sub-model gets a bare tensor for its one named input; harmless here.
    warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
    out = FLAGS.out or (os.path.join(FLAGS.model_dir, "eval") if FLAGS.model_dir else os.path.join("eval", FLAGS.preset))
    metrics = evaluate(
        FLAGS.model_dir, out, dataset=FLAGS.dataset, data_dir=FLAGS.data_dir, tfds_dir=FLAGS.tfds_dir,
        split=FLAGS.split, seed=FLAGS.seed, num_samples=FLAGS.num_samples, num_seeds=FLAGS.num_seeds,
        iw_samples=ks, features=FLAGS.features, features_dir=FLAGS.features_dir,
        classifier_epochs=FLAGS.classifier_epochs, pr_k=FLAGS.pr_k, temperature=FLAGS.temperature,
        scale=FLAGS.scale, command=" ".join(["python -m genzoo.tools.evaluate", *sys.argv[1:]]),
        checkpoint=FLAGS.checkpoint, preset=FLAGS.preset, guidance=FLAGS.guidance,
        one_body=FLAGS.one_body,
    )
    print(f"genzoo: wrote {os.path.join(out, 'metrics.json')} and {len(metrics['figures'])} figures")


if __name__ == "__main__":
    define_flags()
    common.run(main)
