"""Draws samples from a trained run: `python -m genzoo.tools.sample --model_dir=runs/vae`.

Modes: `sample` (a grid of new images), `reconstruct` (held-out images beside
their reconstructions, for models with an encoder), `complete` (held-out images,
the same with all but the first --known_fraction of pixels hidden, and the
autoregressive models' completions, side by side), `interpolate` and `attribute`
(GAN code space: rows of --steps images walking between two codes, or adding
-2..2 times an attribute vector; see docs/gan.md).

`--saved_model=BASE/N --signature=NAME` instead calls one signature of an exported
version as a serving client would (docs/serving.md) and draws its `images` output
(beside the input images for signatures that take images).
"""

from __future__ import annotations

from absl import flags

from genzoo.tools import common


def define_flags():
    flags.DEFINE_string("model_dir", None, "A run folder written by genzoo.tools.train.")
    common.define_checkpoint_flag()
    flags.DEFINE_integer("num", 64, "Number of images.")
    flags.DEFINE_integer("seed", 0, "Sampling seed: the same seed gives the same images.")
    flags.DEFINE_string("out", "grid.png", "Output PNG.")
    flags.DEFINE_enum("mode", "sample", ["sample", "reconstruct", "complete", "interpolate", "attribute"],
                      "What to draw.")
    flags.DEFINE_integer("steps", 8, "--mode=interpolate/attribute: images per row (rows = --num // --steps).")
    flags.DEFINE_float("temperature", 1.0, "Autoregressive models: softmax temperature (0 = greedy).")
    common.define_sampling_flags()
    flags.DEFINE_float("known_fraction", 0.5, "--mode=complete: fraction of pixels kept (raster order).")
    flags.DEFINE_string("labels", "", "Comma-separated class labels for conditional models (cycled).")
    flags.DEFINE_integer("scale", 0, "Pixel upscale factor (0: automatic).")
    flags.DEFINE_string("saved_model", None, "An exported version, BASE/N (genzoo.tools.export), instead of --model_dir.")
    flags.DEFINE_string("signature", "serving_default", "--saved_model: the signature to call.")


def main(argv):
    if len(argv) > 1:
        raise common.UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    FLAGS = flags.FLAGS
    common.check_range("num", FLAGS.num, 1, common.MAX_IMAGES)
    common.check_range("seed", FLAGS.seed, 0, common.MAX_SEED)
    common.check_output_file("out", FLAGS.out)
    wanted = parse_labels(FLAGS.labels)
    if FLAGS.saved_model:
        return draw_saved_model(FLAGS)
    # Checks that need no model first: loading a run takes seconds.
    common.check_model_source(FLAGS)
    common.check_guidance_flag(FLAGS.guidance)
    if FLAGS.temperature < 0:
        raise common.UserError(f"--temperature must be >= 0, got {FLAGS.temperature}")
    if FLAGS.mode in ("interpolate", "attribute") and FLAGS.steps < 2:
        raise common.UserError(f"--steps must be at least 2, got {FLAGS.steps}")
    if FLAGS.mode == "complete" and not 0.0 <= FLAGS.known_fraction <= 1.0:
        raise common.UserError(f"--known_fraction must lie in [0, 1], got {FLAGS.known_fraction}")
    common.check_run_folder(FLAGS.model_dir)
    import numpy as np

    from genzoo import data, images
    from genzoo.models.capabilities import CodeSpace, Completer, Encoder, has
    model, config = common.load_model(FLAGS)
    spec = model.spec
    labels = None
    if wanted is not None:
        if not model.conditional:
            raise common.UserError(f"--labels: model {config['train']['model']!r} is not conditional")
        if min(wanted) < 0 or max(wanted) >= spec.num_classes:
            raise common.UserError(f"--labels must lie in 0-{spec.num_classes - 1}")
        labels = np.resize(np.array(wanted, np.int32), FLAGS.num)
    if FLAGS["temperature"].present and not model.tempered:
        raise common.UserError(f"--temperature: model {config['train']['model']!r} has no sampling temperature")
    common.apply_sampling_flags(model, config["train"]["model"], FLAGS.guidance, FLAGS.one_body)
    if FLAGS.mode == "sample":
        pictures = data.to_rgb_uint8(
            model.sample(FLAGS.num, FLAGS.seed, labels=labels, temperature=FLAGS.temperature), spec).numpy()
        columns = None
    elif FLAGS.mode in ("interpolate", "attribute"):
        if not has(model, CodeSpace):
            raise common.UserError(f"model {config['train']['model']!r} has no code space to {FLAGS.mode} in")
        make = model.interpolation_grid if FLAGS.mode == "interpolate" else model.attribute_grid
        rows = max(1, FLAGS.num // FLAGS.steps)
        pictures = data.to_rgb_uint8(make(rows, FLAGS.steps, FLAGS.seed, labels=labels), spec).numpy()
        columns = FLAGS.steps
    elif FLAGS.mode == "complete":
        if not has(model, Completer):
            raise common.UserError(f"model {config['train']['model']!r} cannot complete images")
        train = config["train"]
        ds, _ = data.load(train["dataset"], "test", encoding=train["encoding"], data_dir=train["data_dir"],
                          tfds_dir=train["tfds_dir"])
        held_out = next(iter(ds.batch(FLAGS.num)))
        batch = held_out["image"]
        given = held_out["label"] if labels is None else labels[:len(batch)]
        known = round(FLAGS.known_fraction * spec.height * spec.width)
        originals = data.to_rgb_uint8(batch, spec).numpy()
        masked = originals.reshape(len(originals), -1, 3).copy()
        masked[:, known:] = 128  # hidden pixels shown grey
        done = model.complete(batch, known, FLAGS.seed, labels=given if model.conditional else None,
                              temperature=FLAGS.temperature)
        done = data.to_rgb_uint8(done, spec).numpy()
        pictures = np.stack([originals, masked.reshape(originals.shape), done], axis=1).reshape(-1, *originals.shape[1:])
        columns = 3 * max(1, int(np.sqrt(len(originals))))
    else:
        if not has(model, Encoder):
            raise common.UserError(f"model {config['train']['model']!r} has no encoder to reconstruct with")
        train = config["train"]
        ds, _ = data.load(train["dataset"], "test", encoding=train["encoding"], data_dir=train["data_dir"],
                          tfds_dir=train["tfds_dir"])
        batch = next(iter(ds.batch(FLAGS.num)))
        originals = data.to_rgb_uint8(batch["image"], spec).numpy()
        given = batch["label"] if model.conditional else None
        rebuilt = data.to_rgb_uint8(model.reconstruct(batch["image"], given), spec).numpy()
        pictures = np.stack([originals, rebuilt], axis=1).reshape(-1, *originals.shape[1:])
        columns = 2 * max(1, int(np.sqrt(len(originals))))
    scale = FLAGS.scale or images.auto_scale(spec.height)
    images.save_png(FLAGS.out, images.grid(pictures, columns=columns, scale=scale))
    print(f"genzoo: wrote {FLAGS.out} ({len(pictures)} images)")


def parse_labels(text: str) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise common.UserError(f"--labels must be integers, got {text!r}") from None


def draw_saved_model(FLAGS):
    """Fills a signature's inputs by name from the flags, calls it, and draws its `images`."""
    import re

    import numpy as np
    import tensorflow as tf

    from genzoo import data, images, serving

    path = FLAGS.saved_model
    for name in ("guidance", "one_body"):
        if getattr(FLAGS, name, None) is not None:
            raise common.UserError(f"--{name} is fixed in an exported model: pass it to genzoo.tools.export")
    info = serving.read_metadata(path)
    signatures = tf.saved_model.load(path).signatures
    if FLAGS.signature not in signatures:
        raise common.UserError(f"--signature {FLAGS.signature!r}: {path} has {', '.join(sorted(signatures))}")
    fn = signatures[FLAGS.signature]
    spec = data.DatasetSpec.from_config(info["model_config"]["spec"])
    inputs = fn.structured_input_signature[1]
    num, originals, request = FLAGS.num, None, {}
    wanted = parse_labels(FLAGS.labels)
    labels = np.resize(np.array(wanted if wanted else np.arange(max(spec.num_classes, 1)), np.int32), num)
    if "images" in inputs:  # held-out images of the run's dataset, in the serving format
        train = info.get("run", {}).get("train") or {"dataset": spec.name, "encoding": spec.encoding}
        ds, _ = data.load(train["dataset"], "test", encoding=train.get("encoding"), data_dir=train.get("data_dir"),
                          tfds_dir=train.get("tfds_dir"))
        batch = next(iter(ds.batch(num)))
        num, originals = len(batch["image"]), data.to_rgb_uint8(batch["image"], spec).numpy()
        request["images"] = data.encodings.to_pixels(batch["image"], spec)
        labels = labels[:num] if FLAGS.labels else batch["label"]
    values = {
        "num_samples": num, "seed": FLAGS.seed, "labels": labels, "temperature": FLAGS.temperature,
        "num_known_pixels": round(FLAGS.known_fraction * spec.height * spec.width),
    }
    for key, tensor_spec in inputs.items():
        if key == "z":
            request[key] = tf.random.stateless_normal([num, tensor_spec.shape[1]], [FLAGS.seed, 0])
        elif key in values:
            request[key] = values[key]
        elif key != "images":
            raise common.UserError(f"signature {FLAGS.signature!r} takes {key!r}, which this tool cannot fill")
    request = {key: tf.cast(value, inputs[key].dtype) for key, value in request.items()}
    try:
        outputs = fn(**request)
    except tf.errors.InvalidArgumentError as err:  # the export's own request checks
        found = re.search(r"assertion failed: \[([^\]]*)\]|(Shape of tensor [^\n]*)", str(err))
        raise common.UserError(found.group(1) or found.group(2) if found else str(err).splitlines()[0]) from None
    if "images" not in outputs:
        raise common.UserError(f"signature {FLAGS.signature!r} returns no images (it returns {', '.join(sorted(outputs))})")
    pictures, columns = outputs["images"].numpy(), None
    if originals is not None:
        pictures = np.stack([originals, pictures], axis=1).reshape(-1, *originals.shape[1:])
        columns = 2 * max(1, int(np.sqrt(len(originals))))
    scale = FLAGS.scale or images.auto_scale(spec.height)
    images.save_png(FLAGS.out, images.grid(pictures, columns=columns, scale=scale))
    print(f"genzoo: wrote {FLAGS.out} ({len(pictures)} images from {path}, signature {FLAGS.signature})")


if __name__ == "__main__":
    define_flags()
    common.run(main)
