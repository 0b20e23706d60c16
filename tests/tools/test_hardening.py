"""Bad input is a one-line `genzoo: error:` with exit status 2, and no run loses data silently."""

import contextlib
import importlib
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from genzoo.errors import UserError
from genzoo.training import TrainConfig, train
from genzoo.training.checkpoints import Checkpoints
from genzoo.training.runs import load_model
from tests.data.test_bad_input import folder_with, jpeg_declaring, png_bomb, small_png
from tests.tools.conftest import SMALL_VAE, assert_one_line_errors, start_tool

SMALL = {"latent_dim": 4, "filters": 4, "hidden": 16, "pixel_layers": 0}


@pytest.fixture
def fake_run(tmp_path):
    """A folder that passes the tools' first check (it has a config.json), for flag checks that come next."""
    run = tmp_path / "fake_run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    return run


def test_flags_out_of_range_are_one_line_errors(tmp_path, small_npz, fake_run):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    train = ["--model=vae", f"--dataset={small_npz}", SMALL_VAE]
    cases = {
        "train seed": ("train", [*train, "--seed=-1"], "--seed must lie in 0-2147483647, got -1"),
        "train hparam type": ("train", ["--model=vae", f"--dataset={small_npz}", "--hparams=latent_dim=abc"],
                              "hyper-parameter latent_dim must be int, got 'abc'"),
        "train hparam seed": ("train", [*train[:2], "--hparams=seed=1"], "--hparams must not set seed; use --seed"),
        "train model_dir file": ("train", [*train, f"--model_dir={a_file}"], "is a file, not a folder"),
        "train num_samples": ("train", [*train, "--num_samples=5000"], "--num_samples must lie in 1-4096, got 5000"),
        "sample num": ("sample", [f"--model_dir={fake_run}", "--num=5000"], "--num must lie in 1-4096, got 5000"),
        "sample seed": ("sample", [f"--model_dir={fake_run}", "--seed=-3"], "--seed must lie in 0-2147483647, got -3"),
        "sample out folder": ("sample", [f"--model_dir={fake_run}", f"--out={tmp_path}"], "is a folder; name a file"),
        "sample saved labels": ("sample", [f"--saved_model={tmp_path}", "--labels=a"], "--labels must be integers"),
        "evaluate seed": ("evaluate", [f"--model_dir={fake_run}", "--seed=-1"], "--seed must lie in 0-"),
        "evaluate samples": ("evaluate", [f"--model_dir={fake_run}", "--num_samples=100000"],
                             "--num_samples must lie in 2-4096, got 100000"),
        "evaluate iw": ("evaluate", [f"--model_dir={fake_run}", "--iw_samples=1,100000"],
                        "--iw_samples must be integers in 1-4096"),
        "evaluate out file": ("evaluate", [f"--model_dir={fake_run}", f"--out={a_file}"], "is a file, not a folder"),
        "evaluate classifier epochs": ("evaluate", [f"--model_dir={fake_run}", "--classifier_epochs=0"],
                                       "--classifier_epochs must be an integer in 1-1000, got 0"),
        "export cap": ("export", [f"--model_dir={fake_run}", f"--export_base={tmp_path / 'e'}",
                                  "--max_num_samples=3000000000"], "--max_num_samples must lie in 1-2147483647"),
        "export base file": ("export", [f"--model_dir={fake_run}", f"--export_base={a_file}"], "is a file, not a folder"),
    }
    procs = {name: start_tool(tool, *flags) for name, (tool, flags, _) in cases.items()}
    errors = assert_one_line_errors(procs, {name: (None, message) for name, (_, _, message) in cases.items()})
    assert all("Traceback" not in err for err in errors.values())
    assert sorted(os.listdir(tmp_path)) == ["a_file", "fake_run"]  # nothing written


# Runs a tool's main with bad flags in one process, then reports whether TensorFlow was loaded.
_LOADS_TF = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_module(f"genzoo.tools.{sys.argv[0]}", run_name="__main__")
except SystemExit as exit:
    print(exit.code, "tensorflow" in sys.modules)
"""


def test_flag_errors_come_before_tensorflow_loads(tmp_path, fake_run):
    # A typo must fail in a fraction of a second, not after the 4 s TensorFlow takes to load.
    cases = {
        "train": ["--model=vae", "--seed=-1"],
        "train model_dir file": ["--model=vae", f"--model_dir={fake_run / 'config.json'}"],
        "sample": [f"--model_dir={fake_run}", "--num=5000"],
        "sample guidance": [f"--model_dir={fake_run}", "--guidance=-1"],
        "sample no run": [f"--model_dir={tmp_path / 'missing'}"],
        "evaluate": [f"--model_dir={fake_run}", "--seed=-1"],
        "evaluate no run": [f"--model_dir={tmp_path / 'missing'}"],
        "export": [f"--model_dir={fake_run}", "--max_num_samples=0"],
        "export no run": [f"--model_dir={tmp_path / 'missing'}", f"--export_base={tmp_path / 'e'}"],
    }
    procs = {name: subprocess.Popen([sys.executable, "-c", _LOADS_TF, name.split()[0], *args], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for name, args in cases.items()}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert out.split() == ["2", "False"], (name, out, err[-500:])
        assert "genzoo: error:" in err, (name, err)
    assert not (tmp_path / "missing").exists()


def _config(tmp_path, small_npz, **overrides):
    values = {"model": "vae", "dataset": small_npz, "model_dir": str(tmp_path / "run"), "epochs": 1,
              "batch_size": 30, "hparams": dict(SMALL), "num_samples": 4}
    return TrainConfig(**{**values, **overrides})


def test_a_rerun_keeps_the_recorded_learning_rate(tmp_path, small_npz, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative --model_dir, as the README writes it (runs/vae)
    train(_config(tmp_path, small_npz, learning_rate=0.0123, model_dir="run"), verbose=0)
    model, _ = train(_config(tmp_path, small_npz, epochs=2, model_dir="run"), verbose=0)  # no --learning_rate
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["train"]["learning_rate"] == 0.0123
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.0123)
    # Reloaded through the relative path (checkpoint paths were once joined onto it twice: "no readable checkpoint")
    loaded, info = load_model("run", "latest")
    assert info["checkpoint"] == os.path.join("run", "checkpoints", "ckpt-12")  # 2 epochs of 6 steps
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert load_model("run", "best")[1]["checkpoint"].startswith(os.path.join("run", "checkpoints", "best", "best-"))


def test_corrupt_run_files_are_one_line_errors(tmp_path, small_npz):
    train(_config(tmp_path, small_npz), verbose=0)
    history = tmp_path / "run" / "history.json"
    good = history.read_text()
    history.write_text(good[:len(good) // 2])
    with pytest.raises(UserError, match="history.json is corrupt"):
        train(_config(tmp_path, small_npz, epochs=2), verbose=0)
    assert history.read_text() == good[:len(good) // 2]  # left as it was, not replaced
    history.write_text(good)
    config = tmp_path / "run" / "config.json"
    config.write_text("{not json")
    with pytest.raises(UserError, match="config.json is corrupt"):
        train(_config(tmp_path, small_npz, epochs=2), verbose=0)


def test_a_run_with_no_readable_checkpoint_is_refused_unless_start_over(tmp_path, small_npz):
    train(_config(tmp_path, small_npz), verbose=0)
    checkpoints = tmp_path / "run" / "checkpoints"
    for path in checkpoints.glob("ckpt-*.data-*"):
        path.write_bytes(b"garbage")
    listed = sorted(os.listdir(checkpoints))
    with pytest.raises(UserError, match="no checkpoint in .* can be read; pass --start_over"):
        train(_config(tmp_path, small_npz, epochs=2), verbose=0)
    assert sorted(os.listdir(checkpoints)) == listed  # nothing rotated away
    _, history = train(_config(tmp_path, small_npz, epochs=2, start_over=True), verbose=0)
    assert [row["epoch"] for row in history] == [1, 2]


def test_a_second_training_of_one_run_is_refused_and_a_stale_lock_taken_over(tmp_path, small_npz):
    run = tmp_path / "run"
    run.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".lock").write_text(str(sleeper.pid))
        with pytest.raises(UserError, match=f"is being trained by process {sleeper.pid}"):
            train(_config(tmp_path, small_npz), verbose=0)
    finally:
        sleeper.kill()
        sleeper.wait()
    train(_config(tmp_path, small_npz), verbose=0)  # the lock's process is gone: a stale lock
    assert not (run / ".lock").exists() and (run / "history.json").exists()


def test_restore_fails_loudly_when_a_weight_is_not_in_the_checkpoint(tmp_path):
    saved = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="a")])
    Checkpoints(str(tmp_path / "c"), keep=2, model=saved).save(1)
    grown = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="a"), keras.layers.Dense(4, name="b")])
    with pytest.raises(UserError, match="does not hold every weight of this model"):
        Checkpoints(str(tmp_path / "c"), keep=2, model=grown).restore_latest()
    same = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="a")])
    assert Checkpoints(str(tmp_path / "c"), keep=2, model=same).restore_latest()
    np.testing.assert_array_equal(same.weights[0].numpy(), saved.weights[0].numpy())
    assert tf.reduce_all(same.weights[1] == saved.weights[1])


def test_a_nan_held_out_metric_stops_training_before_it_is_saved(tmp_path, small_npz, monkeypatch):
    """A finite training loss but a NaN held-out one: no history row, no checkpoint of that epoch."""
    from genzoo.training import loop

    evaluate = loop._Run.evaluate
    monkeypatch.setattr(loop._Run, "evaluate", lambda self, step: {k: float("nan") for k in evaluate(self, step)})
    with pytest.raises(loop.TrainingError, match=r"held-out \w+ became nan at step 6; training stopped"):
        train(_config(tmp_path, small_npz), verbose=0)  # one epoch of 6 steps, no checkpoint before its end
    run = tmp_path / "run"
    assert not (run / "history.json").exists()
    assert tf.train.latest_checkpoint(str(run / "checkpoints")) is None
    assert not (run / "checkpoints" / "best").exists() and not (run / ".lock").exists()


CORRUPT_RUN_RECORDS = {
    "not json": ("{not json", "JSONDecodeError"),
    "not utf-8": (b"\xff\xfe{}", "UnicodeDecodeError"),
    "empty object": ("{}", "KeyError: 'train'"),
    "a list": ("[]", "TypeError"),
    "no model_config": ('{"train": {"model": "vae"}}', "KeyError: 'model_config'"),
    "model not a name": ('{"train": {"model": ["vae"]}, "model_config": {}}', "train.model must be a name"),
    "model_config cut": ('{"train": {"model": "vae"}, "model_config": {}}', "its model_config does not build a vae"),
}


@pytest.mark.parametrize("content, message", CORRUPT_RUN_RECORDS.values(), ids=CORRUPT_RUN_RECORDS)
def test_a_corrupt_config_json_is_a_one_line_error_when_a_run_is_reloaded(tmp_path, content, message):
    """sample, evaluate and export reload a run through runs.load_model (train: test_corrupt_run_files...)."""
    (tmp_path / "config.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError, match="config.json is corrupt") as err:
        load_model(str(tmp_path))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_tools_refuse_a_corrupt_config_json_before_writing(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")  # valid JSON, but no run's record: was a KeyError traceback
    outputs = {"sample": [f"--out={tmp_path / 'g.png'}"], "evaluate": [f"--out={tmp_path / 'eval'}"],
               "export": [f"--export_base={tmp_path / 'serving'}"]}
    for tool, extra in outputs.items():
        with _tool(tool) as module:
            message = _user_error(module, [f"--model_dir={run}", *extra])
        assert message is not None and f"{run}/config.json is corrupt (KeyError: 'train')" in message, (tool, message)
    assert sorted(os.listdir(tmp_path)) == ["run"] and os.listdir(run) == ["config.json"]  # nothing written


def test_a_features_dir_under_home_is_expanded(intact_classifier, tmp_path, monkeypatch):
    """--features_dir=~/... finds (and would write) the classifiers in the home folder, not in a literal ./~ ."""
    from genzoo import files
    from genzoo.evaluation import features

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr(features, "train_in_subprocess", lambda *a, **k: pytest.fail(f"not found, would train {a[4]}"))
    rng = np.random.RandomState(0)
    train_split = (rng.randint(0, 256, (6, 8, 8, 3)).astype(np.uint8), np.zeros(6, np.int64))
    test_split = (train_split[0][:2], train_split[1][:2])
    folder = features.artefact_dir(str(tmp_path / "home" / "feats"), "d",
                                   features.artefact_key(train_split, test_split, 1, 0))
    weights, record = intact_classifier
    files.write_bytes(files.join(folder, features.WEIGHTS_FILE), weights)
    files.write_json(files.join(folder, "classifier.json"), record)
    extractor = features.genzoo_extractor("~/feats", "d", lambda s: train_split if s == "train" else test_split, 4,
                                          epochs=1)
    assert extractor.record["path"] == files.join(folder, features.WEIGHTS_FILE)
    assert os.listdir(tmp_path / "work") == []  # no ./~ folder


def test_quality_samples_has_an_upper_bound(tmp_path, small_npz):
    with _tool("train") as train_tool:
        message = _user_error(train_tool, ["--model=vae", f"--dataset={small_npz}", "--quality_every=1",
                                           "--quality_samples=5000", f"--model_dir={tmp_path / 'run'}", SMALL_VAE])
    assert message == "--quality_samples must lie in 2-4096, got 5000"  # N x N distance matrices
    assert not (tmp_path / "run").exists()


def test_setup_requires_a_keras_without_the_published_safe_mode_bypasses():
    """setup.py's minimum (and the installed Keras) is 3.14 or later: earlier ones have safe_mode bypasses."""
    import re
    from pathlib import Path

    setup = (Path(__file__).resolve().parents[2] / "setup.py").read_text(encoding="utf-8")
    found = re.findall(r'"keras>=(\d+)\.(\d+)', setup)
    assert len(found) == 1 and tuple(map(int, found[0])) >= (3, 14), found
    assert tuple(map(int, keras.__version__.split(".")[:2])) >= (3, 14), keras.__version__


# === Many bad inputs through the tools, in this one process (issue 18's remaining data items) ===
@contextlib.contextmanager
def _tool(tool):
    """The tool's module with its absl flags defined in this process, removed again afterwards."""
    module = importlib.import_module(f"genzoo.tools.{tool}")
    before = set(flags.FLAGS)
    module.define_flags()
    added = set(flags.FLAGS) - before
    try:
        yield module
    finally:
        flags.FLAGS.unparse_flags()
        for name in added:
            delattr(flags.FLAGS, name)


def _user_error(module, args) -> str | None:
    """What `python -m genzoo.tools.X ARGS` prints after `genzoo: error:` (common.run), in-process."""
    flags.FLAGS.unparse_flags()
    flags.FLAGS([module.__name__, *args])
    try:
        module.main([module.__name__])
    except UserError as err:
        return str(err)
    return None


def _bad_data(root):
    """Bad data sources, each under `root`, by case name -> the --dataset flag (and extra flags)."""
    def npz(name, **arrays):
        np.savez(root / f"{name}.npz", **arrays)
        return f"--dataset=npz:{root / name}.npz"

    def folder(name, file_name, content):
        (root / name).mkdir()
        return f"--dataset=folder:{folder_with(root / name, file_name, content)}"

    truncated = npz("truncated", images=np.zeros((4, 3, 3), np.uint8))
    (root / "truncated.npz").write_bytes((root / "truncated.npz").read_bytes()[:100])
    pokemon = root / "pokemon_files"
    pokemon.mkdir()
    (pokemon / "colormap.txt").write_text("\n".join(f"{i % 256} 0 0" for i in range(300)))
    (pokemon / "pixel_color.txt").write_text(" ".join(["0"] * 400) + "\n")
    return {
        "npz huge label": (npz("labels", images=np.zeros((4, 3, 3)), labels=np.array([0, 1, 2, 10**12])),
                           "label 1000000000000 is too large; labels are class indices in 0-9999"),
        "npz huge palette": (npz("palette", images=np.zeros((4, 3, 3), np.uint16), palette=np.zeros((5000, 3))),
                             "'palette' has 5000 colours; at most 4096"),
        "npz truncated": (truncated, "truncated.npz: not a readable .npz"),
        "png bomb": (folder("bomb", "bomb.png", png_bomb()), "bomb.png: declares 5000x5000 pixels"),
        "jpeg huge": (folder("jpeg", "big.jpg", jpeg_declaring(60000, 50000)), "big.jpg: declares 60000x50000 pixels"),
        "not utf-8": (folder("names", b"caf\xe9.png", small_png()), "file name b'caf\\xe9.png' is not valid UTF-8"),
        "not png": (folder("gif", "x.png", b"GIF89a" + b"\0" * 40), "x.png: unreadable image (not a PNG or JPEG)"),
        "colormap 300": (f"--dataset=pokemon --data_dir={pokemon} --tfds_dir={root / 'tfds'}",
                         "colormap.txt: 300 colours; at most 256"),
        "tfds no image": ("--dataset=tfds:imdb_reviews", "tfds:imdb_reviews: has no 'image' feature"),
        "tfds no split": ("--dataset=tfds:mnist", "tfds:mnist: Unknown split"),
    }


def test_bad_data_through_the_train_tool_in_one_process(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    cases = _bad_data(inputs)
    load = tfds.load

    def train_only_for_mnist(name, split, **kwargs):  # TFDS's own message for a prepared train-only set
        if name == "mnist":
            raise ValueError(f"Unknown split {split!r}. Should be one of ['train'].")
        return load(name, split=split, **kwargs)

    monkeypatch.setattr(tfds, "load", train_only_for_mnist)
    got = {}
    with _tool("train") as train_tool:
        for name, (dataset, _) in cases.items():
            # TFDS's mock data (no download) for the TFDS builder's features; it would also mock pokemon's
            with tfds.testing.mock_data(num_examples=2) if name == "tfds no image" else contextlib.nullcontext():
                got[name] = _user_error(train_tool, [*dataset.split(), f"--model_dir={tmp_path / 'runs' / 'run'}",
                                                     SMALL_VAE])
    for name, (_, message) in cases.items():
        assert got[name] is not None and message in got[name] and "\n" not in got[name], (name, got[name])
    assert not (tmp_path / "runs").exists()  # nothing written for any of them, not even the new parent folder


# === Serving: the VAE's batch signatures are capped as docs/serving.md says ===
def test_vae_decode_encode_reconstruct_refuse_batches_over_the_cap():
    from genzoo.data import builtin
    from genzoo.models import registry
    from genzoo.serving.signatures import _Builder

    model = registry.build("vae", builtin.SPEC, **SMALL)
    # The bodies that serving.signatures wraps in shape checks, run eagerly: tracing them (and
    # sample's loop) costs seconds, and the checks under test are in the bodies.
    functions = _Builder(model, 2).functions()
    images = tf.zeros([3, 20, 20], tf.int32)
    tf.config.run_functions_eagerly(True)
    try:
        with pytest.raises(tf.errors.InvalidArgumentError, match="the number of codes exceeds the cap of 2"):
            functions["decode"](tf.zeros([3, SMALL["latent_dim"]]))  # eager: inputs by position
        for name in ("encode", "reconstruct"):
            with pytest.raises(tf.errors.InvalidArgumentError, match="the number of images exceeds the cap of 2"):
                functions[name](images)
        assert functions["encode"](images[:2])["mean"].shape == (2, SMALL["latent_dim"])  # at the cap
    finally:
        tf.config.run_functions_eagerly(False)


# === Corrupt files written by genzoo: an export's genzoo.json, a cached feature classifier ===
@pytest.mark.parametrize("content, message", [
    (None, "not a genzoo export \\(no assets.extra/genzoo.json\\)"),
    ('{"model": "vae", ', "genzoo.json is corrupt \\(not JSON: "),
    ("[1, 2]", "genzoo.json is corrupt \\(no model_config.spec\\)"),
    ('{"model_config": {"spec": null}}', "genzoo.json is corrupt \\(no model_config.spec\\)"),
    (b"\xff\xfe", "genzoo.json: unreadable|genzoo.json is corrupt"),
])
def test_a_corrupt_export_metadata_file_is_a_one_line_error(tmp_path, content, message):
    from genzoo import serving

    if content is not None:
        (tmp_path / "assets.extra").mkdir()
        where = tmp_path / "assets.extra" / "genzoo.json"
        where.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError, match=message):
        serving.read_metadata(str(tmp_path))


@pytest.mark.parametrize("corrupt, message", [
    (lambda r: "{not json", "classifier.json unreadable \\(JSONDecodeError\\)"),
    (lambda r: "[]", "classifier.json is not a JSON object"),
    (lambda r: json.dumps({**r, "version": 1}), "classifier version 1 is not the current"),
    (lambda r: json.dumps({k: v for k, v in r.items() if k != "input_shape"}), "KeyError"),
    (lambda r: json.dumps({**r, "num_classes": "four"}), "ValueError"),
    (lambda r: json.dumps({**r, "input_shape": [9, 9, 3]}), "does not describe classifier.weights.npy"),
    (lambda r: json.dumps({**r, "weights_sha256": "0" * 64}), "does not match the sha256"),
])
def test_a_corrupt_cached_classifier_fails_its_check(intact_classifier, tmp_path, corrupt, message):
    """load_classifier's ValueError makes genzoo_extractor retrain with a message
    (tests/evaluation/test_features.py::test_a_corrupted_classifier_is_retrained_with_a_message)."""
    from genzoo.evaluation import features

    weights, record = intact_classifier
    (tmp_path / features.WEIGHTS_FILE).write_bytes(weights)
    (tmp_path / "classifier.json").write_text(corrupt(record))
    with pytest.raises(ValueError, match=message):
        features.load_classifier(str(tmp_path))


@pytest.fixture(scope="module")
def intact_classifier(tmp_path_factory):
    """(weights file bytes, classifier.json record) of a small classifier that loads."""
    from genzoo import files
    from genzoo.evaluation import features

    folder = tmp_path_factory.mktemp("classifier")
    network = features.classifier_network(8, 8, 4, seed=0)
    files.write_bytes(str(folder / features.WEIGHTS_FILE), features._npy_bytes(features.flat_weights(network)))
    record = {"version": features.VERSION, "input_shape": [8, 8, 3], "num_classes": 4, "seed": 0,
              "weights_sha256": features._sha256(str(folder / features.WEIGHTS_FILE))}
    (folder / "classifier.json").write_text(json.dumps(record))
    assert features.load_classifier(str(folder)).record["num_classes"] == 4  # the intact one loads
    return (folder / features.WEIGHTS_FILE).read_bytes(), record


def test_the_bad_input_table_names_tests_that_exist():
    """docs/bad_input.md: at least 60 rows, each naming a test function that exists."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    table = (root.parent / "docs" / "bad_input.md").read_text(encoding="utf-8")
    short = dict(re.findall(r"`(\w+)` = `([\w/.]+)`", table))
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) >= 60 and [int(row.split("|")[1]) for row in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        named = re.findall(r"([\w/.]+)::(test_\w+)", row)
        assert named, row
        for where, name in named:
            source = (root / short.get(where, where)).read_text(encoding="utf-8")
            assert f"def {name}(" in source, (where, name)
