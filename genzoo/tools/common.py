"""What every tool shares: quiet TensorFlow start-up and one-line user errors."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

from absl import app

from genzoo.errors import UserError

USER_ERROR_EXIT = 2
MAX_SEED = 2**31 - 1  # numpy and TensorFlow seeds
MAX_IMAGES = 4096  # per grid or per score: N x N distance matrices and one batch of samples


def define_checkpoint_flag():
    from absl import flags

    flags.DEFINE_string("checkpoint", "best", "Weights to use: best (the best held-out checkpoint; the latest when "
                        "the run kept none), latest, or a checkpoint path such as RUN/checkpoints/ckpt-400.")
    flags.DEFINE_string("preset", None, "A pretrained preset shipped with genzoo instead of --model_dir "
                        "(python -m genzoo.tools.presets lists them).")


def define_sampling_flags():
    """--guidance and --one_body: how a trained model samples, set without retraining (None: the model's own)."""
    from absl import flags

    flags.DEFINE_float("guidance", None, "A cvae trained with label_dropout: classifier-free guidance scale "
                       "(1: none; default: the model's own).")
    flags.DEFINE_bool("one_body", None, "A GAN with region_background: keep each sample's largest body piece "
                      "only (--noone_body: every piece; default: the model's own).")


def check_guidance_flag(scale) -> None:
    """--guidance, when given, is >= 0 (checked before TensorFlow loads)."""
    if scale is not None and not scale >= 0:
        raise UserError(f"--guidance must be >= 0, got {scale}")


def apply_sampling_flags(model, name: str, guidance=None, one_body=None) -> None:
    """--guidance on a `Guided` model, --one_body on a `OneBody` one; a one-line refusal on any other
    (None: leave the model's own)."""
    from genzoo.models.capabilities import Guided, OneBody, has

    if guidance is not None:
        if not has(model, Guided):
            raise UserError(f"--guidance: model {name!r} has no classifier-free guidance "
                            "(a cvae trained with --hparams=label_dropout=P has)")
        model.set_guidance(guidance)
    if one_body is not None:
        if not has(model, OneBody):
            raise UserError(f"--one_body: model {name!r} paints no background to keep one body on "
                            "(a dcgan or cgan trained with --hparams=region_background=True does)")
        model.set_one_body(one_body)


def check_model_source(FLAGS) -> None:
    """Exactly one of --model_dir and --preset (checked before anything slow)."""
    if FLAGS.preset and FLAGS.model_dir:
        raise UserError("give --model_dir or --preset, not both")
    if not FLAGS.preset and not FLAGS.model_dir:
        raise UserError("--model_dir is required (or --preset)")


def check_run_folder(model_dir: str | None) -> None:
    """--model_dir (when given) is a run folder: checked without TensorFlow, after the flags' own checks."""
    if model_dir:
        from genzoo.training.config import check_run_folder as check

        check(model_dir)


def load_model(FLAGS):
    """The model of --model_dir (at --checkpoint) or of --preset, and its run's config (after `check_model_source`)."""
    if FLAGS.preset:
        from genzoo import presets

        info = presets.card(FLAGS.preset)
        model = presets.load(FLAGS.preset)
        return model, {"train": info["train"], "model_config": info["model_config"],
                       "checkpoint": f"preset:{FLAGS.preset}"}
    from genzoo.training import runs

    return runs.load_model(FLAGS.model_dir, FLAGS.checkpoint)


def checkpoint_step(path: str) -> int:
    """The training step in a checkpoint's name (`.../ckpt-400`, `.../best-400`)."""
    tail = path.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def check_range(flag: str, value, low, high) -> None:
    """One-line refusal of `--flag` outside [low, high]."""
    if not low <= value <= high:
        raise UserError(f"--{flag} must lie in {low}-{high}, got {value}")


def check_output_file(flag: str, path: str) -> None:
    """`--flag` names a file to write: not a folder, and its folder must be creatable."""
    from genzoo import files

    if files.isdir(path):
        raise UserError(f"--{flag}={path} is a folder; name a file")
    parent = files.dirname(path)
    if files.exists(parent) and not files.isdir(parent):
        raise UserError(f"--{flag}={path}: {parent} is a file, not a folder")


def check_output_folder(flag: str, path: str) -> None:
    from genzoo import files

    if files.exists(path) and not files.isdir(path):
        raise UserError(f"--{flag}={path} is a file, not a folder")


def run(main) -> None:
    """`app.run(main)`, turning user errors into `genzoo: error: ...` and exit status 2."""

    def guarded(argv):
        from absl import logging

        logging.set_verbosity(logging.WARNING)
        try:
            return main(argv)
        except UserError as err:
            print(f"genzoo: error: {err}", file=sys.stderr)
            sys.exit(USER_ERROR_EXIT)

    from absl import flags

    # absl defines --help only inside app.run, after the parse below: answer it here, on stdout, exit 0.
    help_flags = {"-h", "-?", "--help", "--helpshort", "--helpfull"}
    if help_flags & set(sys.argv[1:]):
        app.usage(shorthelp="--helpfull" not in sys.argv, writeto_stdout=True, exitcode=0)
    try:  # parse first, so a bad flag is one line and exit 2, like every user error
        flags.FLAGS(sys.argv)
    except flags.Error as err:
        print(f"genzoo: error: {err}", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT)
    try:
        app.run(guarded)
    except app.UsageError as err:  # absl's own flag errors
        print(f"genzoo: error: {err}", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT)


def parse_hparams(text: str) -> dict:
    """`latent_dim=16,beta=0.5` -> {"latent_dim": 16, "beta": 0.5} (ints, floats, bools, strings)."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--hparams item {item!r} is not key=value")
        out[key.strip()] = _parse_value(value.strip())
    return out


def _parse_value(value: str):
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
