"""tools/gan_ablation.py: its rows are valid hyper-parameters, and the cgan40 row is the cgan's default."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from genzoo.data.spec import DatasetSpec
from genzoo.models import DCGAN, ConditionalGAN
from genzoo.tools.common import parse_hparams

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import gan_ablation

TINY = {"latent_dim": 4, "filters": 4}
POKEMON = DatasetSpec("pokemon", 20, 20, "rgb", channels=3)
POKEMON40 = DatasetSpec("pokemon40", 40, 40, "rgb", channels=3, num_classes=18)


@pytest.mark.parametrize("row", sorted(gan_ablation.ROWS))
def test_every_row_builds_the_model_it_names(row):
    """A misspelt key or a value out of range would fail the row hours into an ablation; here it fails at once."""
    hparams = parse_hparams(gan_ablation.ROWS[row])
    model = (ConditionalGAN if row.startswith("cgan40") else DCGAN)(
        POKEMON40 if row.startswith("cgan40") else POKEMON, **{**TINY, **hparams})
    config = model.get_config()
    for key in ("augment", "silhouette_augment"):  # --hparams joins names with "+" (it splits on commas)
        if key in hparams:
            hparams[key] = hparams[key].replace("+", ",")
    assert {key: config[key] for key in hparams} == hparams


def _config(**hparams) -> dict:
    config = ConditionalGAN(POKEMON40, **TINY, **hparams).get_config()
    del config["name"]  # Keras numbers each instance
    return config


def test_the_cgan40_row_is_the_cgans_default_on_pokemon40_and_the_others_change_one_thing():
    default = _config()
    assert _config(**parse_hparams(gan_ablation.ROWS["cgan40"])) == default
    for name in ("cgan40_no_outline", "cgan40_no_shading", "cgan40_texture", "cgan40_no_twin", "cgan40_projection",
                 "cgan40_inner_lines", "cgan40_parts"):
        changed = _config(**parse_hparams(gan_ablation.ROWS[name]))
        assert len([key for key in default if default[key] != changed[key]]) == 1, name


def test_scored_steps_are_the_kept_checkpoints_with_the_lowest_training_time_score(tmp_path):
    scored = tmp_path / "checkpoints" / "scored"
    scored.mkdir(parents=True)
    history = [{"step": 11}, {"step": 220, "quality/c2st": 0.9}, {"step": 440, "quality/c2st": 0.7},
               {"step": 660, "quality/c2st": 0.8}, {"step": 880, "quality/c2st": 0.7},
               {"step": 1100, "quality/c2st": 0.6}]
    (tmp_path / "history.json").write_text(json.dumps(history))
    for step in (220, 440, 660, 880):  # 1,100 scored best but its checkpoint is not kept
        (scored / f"scored-{step}.index").write_text("")
    assert gan_ablation.scored_steps(str(tmp_path), 3) == [880, 440, 660]  # a tie: the later step first
    assert gan_ablation.scored_steps(str(tmp_path), 0) == []
    assert gan_ablation.scored_steps(str(tmp_path / "no_run"), 3) == []
    best = tmp_path / "checkpoints" / "best"  # the hook's best is eval_best's: not evaluated twice
    best.mkdir()
    (best / "best-880.index").write_text("")
    (best / "best-880.data-00000-of-00001").write_text("")
    assert gan_ablation.scored_steps(str(tmp_path), 3) == [440, 660, 220]


def test_scored_folders_are_the_evaluation_folders_by_step_not_their_logs(tmp_path):
    for name in ("eval_scored-1980", "eval_scored-880", "eval_best", "eval"):
        (tmp_path / name).mkdir()
    (tmp_path / "eval_scored-1980.log").write_text("")
    assert gan_ablation.scored_folders(str(tmp_path)) == ["eval_scored-880", "eval_scored-1980"]


@pytest.mark.parametrize("flags", [["--evaluate_scored=2"], ["--evaluate_scored=-1", "--keep_scored"]])
def test_evaluate_scored_needs_keep_scored_and_a_count(flags, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gan_ablation.py", *flags, "--runs=/nonexistent/runs"])
    with pytest.raises(SystemExit) as exit_info:
        gan_ablation.main()
    assert exit_info.value.code == 2
    assert "--evaluate_scored needs --keep_scored and K >= 0" in capsys.readouterr().err


def test_a_resumed_rows_training_log_goes_on_after_the_first_parts(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, stdout, **kwargs):  # each command writes one line, as train and evaluate print
        calls.append(cmd)
        stdout.write(f"part {len(calls)}\n")

    monkeypatch.setattr(gan_ablation.subprocess, "run", fake_run)
    args = argparse.Namespace(model="dcgan", dataset="pokemon40", data_dir="d", epochs=3, seed=1, quality_every=0,
                              keep_scored=False, num_seeds=3)
    model_dir = str(tmp_path / "dcgan40_parts_grey_lines_shade_steps")
    with open(model_dir + ".train.log", "w") as f:  # what an interrupted training left
        f.write("epochs 1-2 of the first part\n")
    gan_ablation.train_and_evaluate_latest(args, "dcgan40_parts_grey_lines_shade_steps", model_dir)
    with open(model_dir + ".train.log") as f:
        assert f.read() == "epochs 1-2 of the first part\npart 1\n"
    with open(model_dir + ".seconds") as f:
        assert f.read().endswith(" (resumed)\n")
    os.remove(model_dir + ".train.log")  # a fresh row: its own log and plain seconds
    gan_ablation.train_and_evaluate_latest(args, "dcgan40_parts_grey_lines_shade_steps", model_dir)
    with open(model_dir + ".train.log") as f:
        assert f.read() == "part 3\n"
    with open(model_dir + ".seconds") as f:
        assert f.read().strip().isdigit()


def test_killing_the_tool_stops_the_row_it_runs(tmp_path):
    """SIGTERM to the tool ends the training subprocess too, instead of leaving it to train on unattended."""
    log, tools = tmp_path / "row.log", os.path.join(os.path.dirname(__file__), "..", "..", "tools")
    child = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    parent = subprocess.Popen([sys.executable, "-c", (
        f"import sys; sys.path.insert(0, {tools!r}); import gan_ablation; gan_ablation.stop_children_on_sigterm(); "
        f"gan_ablation.run([sys.executable, '-c', {child!r}], {str(log)!r})")])
    deadline = time.time() + 60
    while not log.exists() or not log.read_text().strip():
        assert time.time() < deadline and parent.poll() is None, "the row did not start"
        time.sleep(0.1)
    pid = int(log.read_text().split()[0])
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
