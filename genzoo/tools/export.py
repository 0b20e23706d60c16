"""Exports a trained run for TF Serving: `python -m genzoo.tools.export --model_dir=runs/vae --export_base=serving/vae`.

Writes `EXPORT_BASE/<version>/` (default: one more than the highest version there)
atomically; serve it with `tensorflow_model_server --model_base_path=EXPORT_BASE`.
See docs/serving.md.
"""

from __future__ import annotations

from absl import flags

from genzoo.tools import common


def define_flags():
    flags.DEFINE_string("model_dir", None, "A run folder written by genzoo.tools.train.")
    common.define_checkpoint_flag()
    flags.DEFINE_string("export_base", None, "Folder of numeric versions that TF Serving watches.")
    flags.DEFINE_integer("version", None, "Version number (default: one more than the highest present).")
    flags.DEFINE_integer("max_num_samples", 1024, "Largest num_samples a sampling request may ask for.")
    common.define_sampling_flags()


def main(argv):
    if len(argv) > 1:
        raise common.UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    FLAGS = flags.FLAGS
    common.check_model_source(FLAGS)
    common.check_guidance_flag(FLAGS.guidance)
    if not FLAGS.export_base:
        raise common.UserError("--export_base is required")
    if FLAGS.version is not None and FLAGS.version < 1:
        raise common.UserError(f"--version must be a positive integer, got {FLAGS.version}")
    common.check_range("max_num_samples", FLAGS.max_num_samples, 1, 2**31 - 1)  # requests count in int32
    common.check_output_folder("export_base", FLAGS.export_base)
    common.check_run_folder(FLAGS.model_dir)
    from genzoo import serving
    from genzoo.models.capabilities import Guided, OneBody, has
    model, config = common.load_model(FLAGS)
    # Fixed in the exported graph.
    common.apply_sampling_flags(model, config["train"]["model"], FLAGS.guidance, FLAGS.one_body)
    path = serving.export(
        model, FLAGS.export_base, version=FLAGS.version, max_num_samples=FLAGS.max_num_samples,
        metadata={"run": {"model_dir": FLAGS.model_dir, "preset": FLAGS.preset, "checkpoint": config["checkpoint"],
                          "train": config.get("train"),
                          "guidance": model.guidance if has(model, Guided) else None,
                          "one_body": model.one_body if has(model, OneBody) else None}},
    )
    print(f"genzoo: exported {config['train']['model']} ({config['checkpoint']}) to {path}")


if __name__ == "__main__":
    define_flags()
    common.run(main)
