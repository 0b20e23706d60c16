import json

import numpy as np
import tensorflow as tf

from tests.tools.conftest import SMALL_VAE, assert_one_line_errors, run_tool, start_tool


def test_train_writes_run_folder_and_rerun_resumes(tmp_path, small_npz):
    run = tmp_path / "run"
    args = ["--model=vae", f"--dataset={small_npz}", f"--model_dir={run}", "--batch_size=30", SMALL_VAE,
            "--num_samples=16"]
    first = run_tool("train", *args, "--epochs=1")
    assert first.returncode == 0, first.stderr
    for name in ("config.json", "history.json", "samples.png", "checkpoints/checkpoint"):
        assert (run / name).exists(), name
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["hparams"] == {"latent_dim": 4, "filters": 4, "hidden": 16, "pixel_layers": 0}
    assert len(config["model_config"]["spec"]["palette"]) == 10
    events = list((run / "logs" / "train").glob("events.*")) + list((run / "logs" / "test").glob("events.*"))
    tags = {v.tag for e in events for record in tf.compat.v1.train.summary_iterator(str(e)) for v in record.summary.value}
    assert {"loss", "elbo", "bits_per_dim", "samples"} <= tags
    png = tf.io.decode_png((run / "samples.png").read_bytes()).numpy()
    assert png.shape == (4 * 81 + 1, 4 * 81 + 1, 3) and png.std() > 0

    second = run_tool("train", *args, "--epochs=2")
    assert second.returncode == 0, second.stderr
    assert "resuming from" in second.stdout and "at step 6" in second.stdout
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2] and history[-1]["step"] == 12
    assert np.isfinite(history[-1]["test_loss"])

    grid = tmp_path / "grid.png"
    sampled = run_tool("sample", f"--model_dir={run}", "--num=6", "--seed=3", f"--out={grid}")
    assert sampled.returncode == 0, sampled.stderr
    assert tf.io.decode_png(grid.read_bytes()).shape == (2 * 81 + 1, 3 * 81 + 1, 3)


def test_bad_input_gives_one_line_error_and_writes_nothing(tmp_path, small_npz):
    cases = {
        "unknown model": (["--model=nope"], "unknown model 'nope'; choose one of"),
        "unknown dataset": (["--dataset=nope"], "unknown dataset 'nope'"),
        "batch size 0": (["--batch_size=0"], "--batch_size must be at least 1, got 0"),
        "negative epochs": (["--epochs=-1"], "--epochs must be >= 0, got -1"),
        "missing data": (["--dataset=pokemon", f"--data_dir={tmp_path}"], "pokemon: --data_dir"),
        "bad hparam": ([SMALL_VAE + ",depth=2"], "model 'vae' has no hyper-parameter 'depth'"),
        "bad encoding": (["--encoding=jpeg"], "--encoding"),
    }
    procs = {}
    for name, (flags, _) in cases.items():
        procs[name] = start_tool("train", f"--model_dir={tmp_path / name.replace(' ', '_')}",
                                 f"--dataset={small_npz}", *flags)
    for name, err in assert_one_line_errors(procs, cases).items():
        assert "Traceback" not in err
        assert not (tmp_path / name.replace(" ", "_")).exists(), name


def test_sample_tool_rejects_missing_run(tmp_path):
    result = run_tool("sample", f"--model_dir={tmp_path}")
    assert result.returncode == 2 and "not a genzoo run (no config.json)" in result.stderr
