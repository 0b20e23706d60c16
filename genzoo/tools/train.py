"""Trains a genzoo model: `python -m genzoo.tools.train --model=vae`.

Rerunning the same command with the same --model_dir resumes from the latest
checkpoint. See docs/training.md.
"""

from __future__ import annotations

from absl import flags

from genzoo.tools import common

MODEL_HPARAMS = ("latent_dim", "filters", "hidden", "beta", "kl_warmup_steps")


def define_flags():
    flags.DEFINE_string("model", "vae", "Model name (see docs/models.md).")
    flags.DEFINE_string("dataset", "shapes", "shapes | pokemon | pokemon40 | tfds:NAME | folder:PATH | npz:PATH.")
    flags.DEFINE_string("data_dir", None, "Local copy of the Pokémon files (no download then).")
    flags.DEFINE_string("tfds_dir", None, "Where TFDS keeps prepared records (TFDS default if unset).")
    flags.DEFINE_enum("encoding", None, ["palette", "rgb", "binary"], "Pixel encoding (the dataset's own if unset).")
    flags.DEFINE_string("model_dir", None, "Run folder: checkpoints, logs, samples (default runs/MODEL).")
    flags.DEFINE_integer("epochs", 15, "Training epochs.")
    flags.DEFINE_integer("batch_size", 64, "Global batch size (split over replicas).")
    flags.DEFINE_float("learning_rate", None, "Adam learning rate (default: the model's own, see docs/models).")
    flags.DEFINE_integer("seed", 0, "Seed of initialisation, data order and training noise.")
    flags.DEFINE_string("strategy", "default", "default | one_device | mirrored | multi_worker | tpu.")
    flags.DEFINE_integer("cpu_devices", 1, "Split the CPU into N logical devices (tests mirrored on CPU).")
    flags.DEFINE_string("tpu", "", "TPU address for --strategy=tpu.")
    flags.DEFINE_enum("precision", "float32", ["float32", "mixed_float16", "mixed_bfloat16"],
                      "Mixed precision for GPU (float16, with loss scaling) or TPU (bfloat16).")
    flags.DEFINE_integer("checkpoint_every", 200, "Steps between checkpoints (also at every epoch end).")
    flags.DEFINE_integer("keep_checkpoints", 3, "Latest checkpoints kept (at least 2); the best is kept besides.")
    flags.DEFINE_integer("num_samples", 64, "Images in samples.png.")
    flags.DEFINE_integer("quality_every", 0, "Sample-quality scores (Fréchet distance, KID, precision, recall) "
                         "every N epochs; 0 is off. See docs/evaluation.md.")
    flags.DEFINE_bool("keep_scored", False, "With --quality_every: keep the checkpoint of every scored epoch in "
                      "MODEL_DIR/checkpoints/scored (evaluate --checkpoint=PATH scores any of them).")
    flags.DEFINE_integer("quality_samples", 500, "Generated images per quality score (autoregressive models: slow).")
    flags.DEFINE_string("features", None, "With --quality_every: a .keras feature model (e.g. InceptionV3) "
                        "instead of genzoo's classifier.")
    flags.DEFINE_string("features_dir", None, "Where genzoo's feature classifiers are kept "
                        "(default ~/.cache/genzoo/features, as genzoo.tools.evaluate).")
    # No defaults here: each model has its own (--latent_dim is 32 for the VAE, 100 for the GANs).
    flags.DEFINE_integer("latent_dim", None, "VAE/GAN code size (default: the model's own).")
    flags.DEFINE_integer("filters", None, "Channels of the first convolution (default: the model's own).")
    flags.DEFINE_integer("hidden", None, "Width of dense hidden layers (default: the model's own).")
    flags.DEFINE_float("beta", None, "VAE KL weight, 1 is the ELBO (default: the model's own).")
    flags.DEFINE_integer("kl_warmup_steps", None, "VAE: KL weight rises from 0 over these steps (default: the model's own).")
    flags.DEFINE_string("hparams", "", "Other model hyper-parameters, key=value,...")
    flags.DEFINE_string("preset", None, "Fine-tune a pretrained preset (python -m genzoo.tools.presets): its model, "
                        "hyper-parameters and dataset are the defaults of --model, --hparams and --dataset.")
    flags.DEFINE_bool("flip", False, "Mirror each training image left-right with probability 1/2 (data augmentation).")
    flags.DEFINE_integer("early_stop", 0, "Stop after N epochs without a better held-out monitor (0: off); "
                         "the best checkpoint is kept in MODEL_DIR/checkpoints/best either way.")
    flags.DEFINE_bool("start_over", False, "Train from scratch in --model_dir when none of its checkpoints can be read "
                      "(they and history.json are replaced); without it such a run is refused.")


def config_from_flags():
    from genzoo.training import TrainConfig

    FLAGS = flags.FLAGS
    hparams = {name: FLAGS[name].value for name in MODEL_HPARAMS if FLAGS[name].present}
    hparams.update(common.parse_hparams(FLAGS.hparams))
    model, dataset, encoding = FLAGS.model, FLAGS.dataset, FLAGS.encoding
    if FLAGS.preset:
        from genzoo import presets

        card = presets.card(FLAGS.preset)
        model = card["model"] if not FLAGS["model"].present else model
        dataset = card["train"]["dataset"] if not FLAGS["dataset"].present else dataset
        encoding = card["train"]["encoding"] if not FLAGS["encoding"].present else encoding
        hparams = {**card["train"]["hparams"], **hparams}
    return TrainConfig(
        model=model, dataset=dataset, data_dir=FLAGS.data_dir, tfds_dir=FLAGS.tfds_dir,
        encoding=encoding, model_dir=FLAGS.model_dir or f"runs/{model}", epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, seed=FLAGS.seed,
        strategy=FLAGS.strategy, tpu=FLAGS.tpu, precision=FLAGS.precision, checkpoint_every=FLAGS.checkpoint_every,
        keep_checkpoints=FLAGS.keep_checkpoints,
        num_samples=FLAGS.num_samples, quality_every=FLAGS.quality_every, quality_samples=FLAGS.quality_samples,
        keep_scored=FLAGS.keep_scored,
        features_dir=FLAGS.features_dir, features=FLAGS.features, hparams=hparams, start_over=FLAGS.start_over,
        flip=FLAGS.flip, early_stop=FLAGS.early_stop, preset=FLAGS.preset,
    )


def main(argv):
    if len(argv) > 1:
        raise common.UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags().validate()  # bad flags fail before TensorFlow loads (seconds)
    from genzoo import distribute

    distribute.split_cpu(flags.FLAGS.cpu_devices)
    from genzoo.models import registry
    from genzoo.training import loop

    registry.get(config.model)  # fail on an unknown model before loading data
    try:
        model, history = loop.train(config)
    except loop.TrainingError as err:
        print(f"genzoo: error: {err}")
        raise SystemExit(1) from None
    if history:
        last = history[-1]
        key = loop.monitor_key(model, config)
        best = loop.best_row(history, key) if key else None
        shown = f"best {key} {best[key]:.4g} at epoch {best['epoch']}" if best else "no best checkpoint kept"
        print(f"genzoo: done: {config.model_dir} (epoch {last['epoch']}, step {last['step']}; {shown})")


if __name__ == "__main__":
    define_flags()
    common.run(main)
