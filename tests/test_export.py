"""Exports for TF Serving: every registered model, read back the ways TF Serving and clients do.

One fresh Python process (that cannot import genzoo) reads every export twice: with
`tf.saved_model.load` (TF2 clients) and with the session-based loader that TF Serving
and `saved_model_cli run` use (the one that fails on plain `tf.saved_model.save`
exports, docs/TOOLCHAIN.md). The VAE's export also goes through the real
`saved_model_cli show` / `run` commands and `python -m genzoo.tools.export`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework.types_pb2 import DataType

from genzoo import data
from genzoo import serving as export
from genzoo.errors import UserError
from genzoo.models import capabilities as caps
from genzoo.models import registry
from tests.small_models import SMALL_HPARAMS

REPO = Path(__file__).resolve().parents[1]
CAP = 16  # max_num_samples of the test exports
BATCH = 3
SEED = 7
def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}


# === Requests built from a signature ===
def _specs(fn) -> list[tf.TensorSpec]:
    return tf.nest.flatten(fn.get_concrete_function().structured_input_signature)


def _request(specs, spec, images) -> dict[str, np.ndarray]:
    """Valid inputs for a signature, by input name: BATCH images, labels or codes."""
    rng = np.random.RandomState(0)
    values = {}
    for s in specs:
        shape = [BATCH if d is None else d for d in s.shape.as_list()]
        dtype = s.dtype.as_numpy_dtype
        if s.name == "num_samples":
            value = BATCH
        elif s.name == "seed":
            value = SEED
        elif s.name == "labels":
            value = np.arange(BATCH) % spec.num_classes
        elif s.name == "images":
            value = images[:BATCH]
        elif s.name == "temperature":
            value = np.ones(shape)
        elif s.name == "num_known_pixels":
            value = spec.height * spec.width - spec.width  # complete the last row: the fewest steps
        elif s.dtype.is_floating:
            value = rng.standard_normal(shape)
        else:
            value = np.zeros(shape)
        values[s.name] = np.asarray(value, dtype)
    return values


def _bad_requests(specs, good, spec) -> dict[str, tuple[dict, list[str]]]:
    """Invalid variants of `good`: name -> (inputs, substrings the error message must hold)."""
    bad = {}
    names = [s.name for s in specs]
    if "num_samples" in names:
        for case, num, needle in (("over_cap", CAP + 1, f"num_samples exceeds the cap of {CAP}"),
                                  ("zero_samples", 0, "num_samples must be positive")):
            inputs = {**good, "num_samples": np.int32(num)}
            if "labels" in names:  # keep one label per image, so that only num_samples is wrong
                inputs["labels"] = np.arange(num, dtype=np.int32) % spec.num_classes
            bad[case] = (inputs, [needle])
    if "labels" in names:
        bad["label_range"] = ({**good, "labels": np.full(BATCH, spec.num_classes, np.int32)},
                              ["assertion failed", "labels"])
    if "images" in names and good["images"].dtype == np.int32:
        bad["index_range"] = ({**good, "images": np.full_like(good["images"], spec.num_colors)},
                              ["assertion failed", str(spec.num_colors)])
    first = specs[0]
    if first.shape.rank:
        wrong = np.concatenate([good[first.name], good[first.name][..., :1]], axis=-1)  # one more column
        bad["shape"] = ({**good, first.name: wrong}, [f"Shape of tensor {first.name}", "is not compatible"])
    wrong_dtype = np.float64 if first.dtype.is_integer else np.int64
    c_name = DataType.Name(first.dtype.as_datatype_enum)[3:].lower()  # TF's messages say float, not float32
    bad["dtype"] = ({**good, first.name: good[first.name].astype(wrong_dtype)},
                    [f"was expected to be a {c_name} tensor"])
    return bad


# Bad requests that pass a TF Serving client's own conversion (to the signature's dtype
# and shape) and so must be refused inside the graph.
IN_GRAPH_CASES = ("over_cap", "zero_samples", "label_range", "index_range")


# Job data between the test and its reader process: JSON for the structure, arrays in an
# .npz beside it (no pickle). Written next to the reader script, which imports it.
JOBIO = textwrap.dedent('''
    import json
    import numpy as np

    def dump(obj, path):
        arrays = []

        def encode(o):
            if isinstance(o, (np.ndarray, np.generic)):
                arrays.append(np.asarray(o))
                return {"__array__": len(arrays) - 1}
            if isinstance(o, dict):
                return {"__dict__": {k: encode(v) for k, v in o.items()}}
            if isinstance(o, (list, tuple)):
                return [encode(x) for x in o]
            return o

        text = json.dumps(encode(obj))
        np.savez(path, __json__=np.array(text), **{f"a{i}": a for i, a in enumerate(arrays)})

    def load(path):
        with np.load(path, allow_pickle=False) as f:
            arrays = [f[f"a{i}"] for i in range(len(f.files) - 1)]
            tree = json.loads(str(f["__json__"]))

        def decode(o):
            if isinstance(o, dict):
                return arrays[o["__array__"]] if "__array__" in o else {k: decode(v) for k, v in o["__dict__"].items()}
            if isinstance(o, list):
                return [decode(x) for x in o]
            return o

        return decode(tree)
''')


# Runs in a fresh interpreter where importing genzoo fails: only TensorFlow reads the exports.
READER = textwrap.dedent('''
    import contextlib, io, os, sys
    sys.modules["genzoo"] = None  # any import of genzoo now raises
    import jobio
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.tools import saved_model_cli

    # `show --all` ends by loading the export once more to list its tf.functions (14 s of this process's
    # 64 s for all ten); the signatures it prints first are what TF Serving clients read. That listing
    # runs for the VAE's export only.
    list_functions = saved_model_cli._show_defined_functions

    def vae_functions_only(saved_model_dir, meta_graphs):
        if saved_model_dir.endswith(os.path.join("vae", "1")):
            list_functions(saved_model_dir, meta_graphs)

    saved_model_cli._show_defined_functions = vae_functions_only
    job = jobio.load(sys.argv[1])
    out = {"calls": {}, "session": {}, "errors": {}, "session_errors": {}, "signatures": {}, "show": {}}
    loaded = {}
    for key, (path, name, inputs) in job["calls"].items():
        if path not in loaded:
            loaded[path] = tf.saved_model.load(path)
            out["signatures"][path] = {
                n: sorted(f.structured_input_signature[1]) for n, f in loaded[path].signatures.items()}
        result = loaded[path].signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
        out["calls"][key] = {k: v.numpy() for k, v in result.items()}
    for key, (path, name, inputs) in job["bad"].items():
        try:
            loaded[path].signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
            out["errors"][key] = None
        except Exception as err:
            out["errors"][key] = f"{type(err).__name__}: {err}"
    # The session-based loader, as TF Serving and `saved_model_cli run` use it.
    def session_run(sess, meta, name, inputs):
        sig = meta.signature_def[name]
        feed = {sig.inputs[k].name: v for k, v in inputs.items()}
        return sess.run({k: t.name for k, t in sig.outputs.items()}, feed)

    for path in loaded:
        with tf.compat.v1.Session(graph=tf.Graph()) as sess:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
            for key, (p, name, inputs) in job["calls"].items():
                if p == path:
                    out["session"][key] = session_run(sess, meta, name, inputs)
            for key, (p, name, inputs) in job["bad"].items():
                if p == path and key.rsplit("/", 1)[1] in job["in_graph_cases"]:
                    try:
                        session_run(sess, meta, name, inputs)
                        out["session_errors"][key] = None
                    except Exception as err:
                        out["session_errors"][key] = f"{type(err).__name__}: {err}"
        shown = io.StringIO()  # what `saved_model_cli show --dir PATH --all` prints about the signatures
        with contextlib.redirect_stdout(shown):
            saved_model_cli._show_all(path)
        out["show"][path] = shown.getvalue()
    out["genzoo_imported"] = any(m == "genzoo" or m.startswith("genzoo.") for m in sys.modules
                                 if sys.modules[m] is not None)
    jobio.dump(out, sys.argv[2])
''')


@pytest.fixture(scope="module")
def shapes():
    ds, spec = data.load("shapes", "test")
    images = next(iter(ds.batch(BATCH)))["image"].numpy()
    return spec, images


@pytest.fixture(scope="module")
def exported(shapes, tmp_path_factory):
    """Every servable registered model exported, plus what a fresh process read back."""
    spec, images = shapes
    root = tmp_path_factory.mktemp("exports")
    models, expected, calls, bad = {}, {}, {}, {}
    for name in registry.names():
        model = registry.build(name, spec, **SMALL_HPARAMS.get(name, {}))
        functions = export.signatures(model, CAP)  # exactly what gets exported
        path = export.export(model, str(root / name), max_num_samples=CAP, functions=functions)
        models[name] = (model, path, functions)
        for sig, fn in functions.items():
            specs = _specs(fn)
            request = _request(specs, spec, images)
            calls[f"{name}/{sig}"] = (path, sig, request)
            for case, (inputs, _) in _bad_requests(specs, request, spec).items():
                bad[f"{name}/{sig}/{case}"] = (path, sig, inputs)
    job, result = root / "job.npz", root / "result.npz"
    (root / "jobio.py").write_text(JOBIO)
    module_spec = importlib.util.spec_from_file_location("jobio", root / "jobio.py")
    jobio = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(jobio)
    jobio.dump({"calls": calls, "bad": bad, "in_graph_cases": IN_GRAPH_CASES}, job)
    script = root / "reader.py"
    script.write_text(READER)
    reader = subprocess.Popen([sys.executable, str(script), str(job), str(result)], cwd=root,
                              env={**_env(), "PYTHONPATH": ""}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    # The in-process outputs, computed while the reader runs (the machine has two cores).
    for key, (path, sig, request) in calls.items():
        expected[key] = {k: v.numpy() for k, v in models[key.split("/")[0]][2][sig](**request).items()}
    _, stderr = reader.communicate(timeout=900)
    assert reader.returncode == 0, stderr[-3000:]
    return {"models": models, "expected": expected, "read": jobio.load(result),
            "spec": spec}


def _assert_outputs_equal(got, want, where):
    assert sorted(got) == sorted(want), where
    for key in want:
        if np.issubdtype(want[key].dtype, np.floating):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5, err_msg=f"{where}:{key}")
        else:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{where}:{key}")


# === Every registered model ===
@pytest.mark.parametrize("name", registry.names())
def test_every_registered_model_is_servable(name, exported):
    assert name in exported["models"], f"model {name!r} was not exported; every model must be servable"


# The serving signatures each capability adds (Decoder: the model's decode_signature).
SIGNATURES = {caps.Sampler: {"sample"}, caps.Encoder: {"encode", "reconstruct"}, caps.Completer: {"complete"},
              caps.ExactLikelihood: {"log_prob"}}


@pytest.mark.parametrize("name", registry.names())
def test_serving_exports_exactly_the_declared_capabilities(name, exported):
    assert name in exported["models"], f"model {name!r} was not exported"
    model, _, functions = exported["models"][name]
    has = model.capabilities()
    expected = set().union(*(names for capability, names in SIGNATURES.items() if capability in has))
    if caps.Decoder in has:
        expected.add(model.decode_signature)
    assert set(functions) == expected and next(iter(functions)) == "sample"
    for fn in functions.values():
        inputs = {s.name for s in _specs(fn)}
        assert ("labels" in inputs) == (caps.Conditional in has)
        if "num_samples" in inputs:
            assert ("temperature" in inputs) == model.tempered


@pytest.mark.parametrize("name", registry.names())
def test_fresh_process_outputs_equal_in_process_outputs(name, exported):
    assert name in exported["models"], f"model {name!r} was not exported"
    read = exported["read"]
    assert not read["genzoo_imported"]
    _, path, functions = exported["models"][name]
    signatures = read["signatures"][path]
    assert set(signatures) == set(functions) | {"serving_default"}
    first = next(iter(functions))
    assert signatures["serving_default"] == signatures[first]
    for sig in functions:
        key = f"{name}/{sig}"
        _assert_outputs_equal(read["calls"][key], exported["expected"][key], key)


@pytest.mark.parametrize("name", registry.names())
def test_session_loader_outputs_equal_in_process_outputs(name, exported):
    """The loader TF Serving uses: the plain `tf.saved_model.save` failure mode."""
    assert name in exported["models"], f"model {name!r} was not exported"
    for sig in exported["models"][name][2]:
        key = f"{name}/{sig}"
        _assert_outputs_equal(exported["read"]["session"][key], exported["expected"][key], key)


@pytest.mark.parametrize("name", registry.names())
def test_image_outputs_are_uint8_rgb_with_palette_indices(name, exported):
    assert name in exported["models"], f"model {name!r} was not exported"
    spec = exported["spec"]
    for sig in exported["models"][name][2]:
        outputs = exported["read"]["calls"][f"{name}/{sig}"]
        if "images" in outputs:
            assert outputs["images"].dtype == np.uint8 and outputs["images"].shape == (BATCH, 20, 20, 3)
            assert outputs["indices"].dtype == np.int32  # shapes is a palette dataset
            palette = np.asarray(spec.palette, np.uint8)
            np.testing.assert_array_equal(outputs["images"], palette[outputs["indices"]])


@pytest.mark.parametrize("name", registry.names())
def test_bad_requests_fail_with_their_message(name, exported, shapes):
    assert name in exported["models"], f"model {name!r} was not exported"
    spec = shapes[0]
    errors = exported["read"]["errors"]
    for sig, fn in exported["models"][name][2].items():
        specs = _specs(fn)
        for case, (_, needles) in _bad_requests(specs, _request(specs, spec, shapes[1]), spec).items():
            key = f"{name}/{sig}/{case}"
            messages = [errors[key]]
            if case in IN_GRAPH_CASES:  # refused by the session-based loader too
                messages.append(exported["read"]["session_errors"][key])
            for message in messages:
                assert message is not None, f"{key}: bad request was accepted"
                for needle in needles:
                    assert needle in message, f"{key}: {needle!r} not in {message[:500]}"


# === The VAE in detail ===
def test_vae_messages_are_the_documented_ones(exported):
    errors = exported["read"]["errors"]
    assert "labels must lie in [0, 4)" in errors["cvae/sample/label_range"]
    assert "palette indices must lie in [0, 10)" in errors["vae/encode/index_range"]
    assert "palette indices must lie in [0, 10)" in errors["cvae/reconstruct/index_range"]
    assert "Shape of tensor images [3,20,21] is not compatible with expected shape [?,20,20]" in \
        errors["vae/encode/shape"]
    assert "was expected to be a int32 tensor but is a double tensor" in errors["vae/sample/dtype"]
    assert "num_samples exceeds the cap of 16" in exported["read"]["session_errors"]["cvae/sample/over_cap"]


def test_vae_signatures_compute_the_model_methods(exported, shapes):
    spec, images = shapes
    for name in ("vae", "cvae"):
        model, _, _ = exported["models"][name]
        read = exported["read"]["calls"]
        labels = np.arange(BATCH) % spec.num_classes if model.conditional else None
        sample = model.sample(BATCH, SEED, labels=labels)
        np.testing.assert_array_equal(read[f"{name}/sample"]["indices"], sample)
        np.testing.assert_array_equal(read[f"{name}/sample"]["images"], data.to_rgb_uint8(sample, spec))
        mean, log_var = model.encode(tf.constant(images[:BATCH]), labels)
        np.testing.assert_allclose(read[f"{name}/encode"]["mean"], mean, atol=1e-5)
        np.testing.assert_allclose(read[f"{name}/encode"]["log_var"], log_var, atol=1e-5)
        np.testing.assert_array_equal(read[f"{name}/reconstruct"]["indices"],
                                      model.reconstruct(tf.constant(images[:BATCH]), labels))


def test_cvae_labels_must_match_the_number_of_samples(exported):
    _, _, functions = exported["models"]["cvae"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must have one entry per image"):
        functions["sample"](num_samples=tf.constant(3), seed=tf.constant(1, tf.int64), temperature=tf.constant(1.0),
                            labels=tf.constant([0, 1]))


@pytest.mark.parametrize("encoding", ["rgb", "binary"])
def test_vae_takes_uint8_pixels_for_rgb_and_binary_data(encoding, shapes):
    spec = shapes[0].replace(encoding=encoding, channels=3 if encoding == "rgb" else 1)
    model = registry.build("vae", spec, **SMALL_HPARAMS["vae"])
    functions = export.signatures(model, CAP)
    assert _specs(functions["encode"])[0] == export.image_spec(spec)
    pixels = np.random.RandomState(0).randint(0, 256 if encoding == "rgb" else 2, (2, 20, 20, spec.channels))
    got = functions["encode"](images=tf.constant(pixels, tf.uint8))
    mean, _ = model.encode(pixels.astype(np.float32) / (255.0 if encoding == "rgb" else 1.0))
    np.testing.assert_allclose(got["mean"], mean, atol=1e-5)
    if encoding == "binary":
        with pytest.raises(tf.errors.InvalidArgumentError, match="binary pixels must be 0 or 1"):
            functions["encode"](images=tf.constant(pixels * 2, tf.uint8))


@pytest.mark.parametrize("name", registry.names())
def test_saved_model_cli_show_lists_every_signature(name, exported):
    """`saved_model_cli show --all`, run inside the reader process for every export (the VAE's with its
    list of functions)."""
    assert name in exported["models"], f"model {name!r} was not exported"
    _, path, functions = exported["models"][name]
    shown = exported["read"]["show"][path]
    if name == "vae":
        listing = shown.split("Concrete Functions:")[1]
        assert "N/A" not in listing.split("\n")[0] and "Function Name: 'sample'" in listing, listing[:500]
    for sig in [*functions, "serving_default"]:
        fn = functions[next(iter(functions)) if sig == "serving_default" else sig]
        block = shown.split(f"signature_def['{sig}']:")[1].split("signature_def[")[0]
        assert "Method name is: tensorflow/serving/predict" in block
        for s in _specs(fn):
            assert f"inputs['{s.name}']" in block, (sig, s.name)
        for key in fn.get_concrete_function().structured_outputs:
            assert f"outputs['{key}']" in block, (sig, key)


def test_saved_model_cli_run_samples_from_the_vae_export(exported, tmp_path):
    """The real command (`show --all` is run for every export inside the reader process)."""
    _, path, functions = exported["models"]["vae"]
    run = subprocess.run(["saved_model_cli", "run", "--dir", path, "--tag_set", "serve", "--signature_def", "sample",
                          "--input_exprs", f"num_samples=4;seed={SEED};temperature=1.0", "--outdir", str(tmp_path)],
                         env=_env(), capture_output=True, text=True, check=False, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    want = functions["sample"](num_samples=tf.constant(4), seed=tf.constant(SEED, tf.int64), temperature=tf.constant(1.0))
    np.testing.assert_array_equal(np.load(tmp_path / "images.npy"), want["images"])
    np.testing.assert_array_equal(np.load(tmp_path / "indices.npy"), want["indices"])


# === Versions and atomic writes ===
@pytest.fixture(scope="module")
def tiny_vae(shapes):
    return registry.build("vae", shapes[0], **SMALL_HPARAMS["vae"])


def test_exporting_twice_gives_versions_1_and_2_and_records_the_model(exported):
    model, first, functions = exported["models"]["vae"]  # the first export, done by the fixture
    base = Path(first).parent
    (base / "notes").mkdir()  # non-numeric folders are not versions,
    (base / ".tmp-export-2-killed").mkdir()  # nor are the leftovers of a killed export
    second = export.export(model, str(base), max_num_samples=CAP, functions=functions)
    assert (first, second) == (str(base / "1"), str(base / "2"))
    assert export.versions(str(base)) == [1, 2]
    assert sorted(os.listdir(base)) == [".tmp-export-2-killed", "1", "2", "notes"]
    info = json.loads((base / "1" / export.METADATA_FILE).read_text())
    assert info["model"] == "vae" and info["max_num_samples"] == CAP and info["serving_default"] == "sample"
    assert info["model_config"]["spec"]["name"] == "shapes"
    assert info["signatures"]["encode"]["inputs"]["images"] == {"dtype": "int32", "shape": [None, 20, 20]}


def test_an_existing_version_is_an_error(tiny_vae, tmp_path):
    (tmp_path / "3").mkdir()
    with pytest.raises(UserError, match="exists already"):
        export.export(tiny_vae, str(tmp_path), version=3)
    with pytest.raises(UserError, match="version must be a positive integer"):
        export.export(tiny_vae, str(tmp_path), version=0)
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="is a file, not a folder"):
        export.export(tiny_vae, str(tmp_path / "file"))
    assert sorted(os.listdir(tmp_path)) == ["3", "file"]


def test_an_exception_during_the_write_leaves_no_version(exported, tmp_path, monkeypatch):
    model, _, functions = exported["models"]["vae"]

    def fail(obj, path, **kwargs):
        Path(path, "saved_model.pb").write_bytes(b"half a file")
        raise OSError("injected failure: disk full")

    monkeypatch.setattr(tf.saved_model, "save", fail)
    with pytest.raises(OSError, match="injected"):
        export.export(model, str(tmp_path), max_num_samples=CAP, functions=functions)
    assert os.listdir(tmp_path) == []  # the temporary folder is removed too


def test_an_exception_before_the_rename_leaves_no_version(exported, tmp_path, monkeypatch):
    model, _, functions = exported["models"]["vae"]

    def fail(*args):
        raise OSError("injected failure")

    monkeypatch.setattr(os, "rename", fail)
    with pytest.raises(OSError, match="injected"):
        export.export(model, str(tmp_path), version=7, max_num_samples=CAP, functions=functions)
    assert os.listdir(tmp_path) == []


def test_an_export_killed_before_the_rename_leaves_no_version(tmp_path):
    """SIGKILL with the SavedModel fully written but not yet renamed: the latest moment."""
    base = tmp_path / "base"
    script = textwrap.dedent(f'''
        import os, signal
        from genzoo import serving as export
        from genzoo.data import builtin
        from genzoo.models import registry
        model = registry.build("vae", builtin.SPEC, **{SMALL_HPARAMS["vae"]!r})
        os.rename = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
        export.export(model, {str(base)!r})
    ''')
    run = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    (leftover,) = os.listdir(base)
    assert leftover.startswith(".tmp-export-1-")
    assert (base / leftover / "saved_model.pb").exists()  # killed after the write, before the rename
    assert export.versions(str(base)) == []


# === The command-line tool ===
def test_export_tool_exports_a_trained_run(shapes, tmp_path):
    from genzoo.training import TrainConfig
    from genzoo.training.loop import write_config

    spec = shapes[0]
    run_dir, base = tmp_path / "run", tmp_path / "serving"
    model = registry.build("vae", spec, **SMALL_HPARAMS["vae"])
    write_config(TrainConfig(model="vae", model_dir=str(run_dir), hparams=SMALL_HPARAMS["vae"]), model)
    tf.train.CheckpointManager(tf.train.Checkpoint(model=model), str(run_dir / "checkpoints"), 2).save()
    tool = [sys.executable, "-m", "genzoo.tools.export", f"--model_dir={run_dir}", f"--export_base={base}",
            "--max_num_samples=8"]
    done = subprocess.run(tool, env=_env(), capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"exported vae ({run_dir / 'checkpoints' / 'ckpt-1'}) to {base / '1'}" in done.stdout  # no best yet
    loaded = tf.saved_model.load(str(base / "1"))
    got = loaded.signatures["sample"](num_samples=tf.constant(5), seed=tf.constant(SEED, tf.int64),
                                         temperature=tf.constant(1.0))
    np.testing.assert_array_equal(got["indices"], model.sample(5, SEED))  # the checkpoint's weights
    info = json.loads((base / "1" / export.METADATA_FILE).read_text())
    assert info["run"]["train"]["hparams"] == SMALL_HPARAMS["vae"] and info["max_num_samples"] == 8


@pytest.mark.parametrize("flags, message", [
    (["--export_base=serving"], "--model_dir is required (or --preset)"),
    (["--model_dir=run"], "--export_base is required"),
    (["--model_dir=run", "--export_base=serving", "--version=0"], "--version must be a positive integer, got 0"),
    (["--model_dir=run", "--export_base=serving", "--max_num_samples=0"], "--max_num_samples must lie in 1-2147483647, got 0"),
])
def test_export_tool_flag_errors_are_one_line(flags, message, tmp_path):
    done = subprocess.run([sys.executable, "-m", "genzoo.tools.export", *flags], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"genzoo: error: {message}"]


# === Drawing from an export: genzoo.tools.sample --saved_model ===
def _sample_flags(path, signature, **overrides):
    from types import SimpleNamespace

    values = {"saved_model": path, "signature": signature, "num": BATCH, "seed": SEED, "labels": "",
              "temperature": 1.0, "known_fraction": 0.5, "scale": 1, "out": "grid.png"}
    return SimpleNamespace(**{**values, **overrides})


def test_sample_tool_draws_a_signature_beside_its_input_images(exported, shapes, tmp_path):
    from genzoo.tools import sample

    spec, images = shapes
    _, path, functions = exported["models"]["cvae"]
    out = tmp_path / "grid.png"
    sample.draw_saved_model(_sample_flags(path, "reconstruct", out=str(out)))
    grid = tf.io.decode_png(out.read_bytes()).numpy()
    ds, _ = data.load("shapes", "test")
    labels = next(iter(ds.batch(BATCH)))["label"]
    want = functions["reconstruct"](images=images[:BATCH], labels=labels)["images"].numpy()
    # Tiles of 20x20 with 1-pixel gaps: original, reconstruction, original, ...
    np.testing.assert_array_equal(grid[1:21, 1:21], data.to_rgb_uint8(images[:1], spec)[0])
    np.testing.assert_array_equal(grid[1:21, 22:42], want[0])

    sample.draw_saved_model(_sample_flags(path, "serving_default", out=str(out), labels="2"))
    grid = tf.io.decode_png(out.read_bytes()).numpy()
    want = functions["sample"](num_samples=BATCH, seed=SEED, temperature=1.0, labels=[2] * BATCH)["images"].numpy()
    np.testing.assert_array_equal(grid[1:21, 1:21], want[0])


@pytest.mark.parametrize("signature, overrides, message", [
    ("sample", {"num": CAP + 1}, f"num_samples exceeds the cap of {CAP}"),
    ("encode", {}, "signature 'encode' returns no images (it returns log_var, mean)"),
    ("generate", {}, "--signature 'generate': .* has decode, encode, reconstruct, sample, serving_default"),
])
def test_sample_tool_errors_name_the_problem(signature, overrides, message, exported, tmp_path):
    from genzoo.tools import sample

    path = exported["models"]["vae"][1]
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sample.draw_saved_model(_sample_flags(path, signature, out=str(tmp_path / "x.png"), **overrides))
