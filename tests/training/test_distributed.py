import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.small_models import SMALL_HPARAMS

REPO = Path(__file__).resolve().parents[2]


def _env(**extra):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def test_mirrored_step_matches_single_device_for_every_model():
    result = subprocess.run(
        [sys.executable, "-m", "tests.training.mirrored_step", json.dumps(SMALL_HPARAMS)],
        capture_output=True, text=True, env=_env(), timeout=600, cwd=REPO, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    from genzoo.models import registry

    assert set(report) == set(registry.names())
    for name, r in report.items():
        assert r["moved"] > 1e-4, f"{name}: the step did not change the weights"
        assert r["weight_diff"] <= 1e-5, f"{name}: mirrored update differs by {r['weight_diff']}"
        assert r["metric_diff"] <= 1e-5, f"{name}: metrics differ across strategies by {r['metric_diff']}"


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_end_identical_and_only_chief_writes(tmp_path, small_npz_dataset):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.training.multi_worker", small_npz_dataset, str(tmp_path / f"run{index}"),
             str(tmp_path / f"weights{index}.npz")],
            env=_env(TF_CONFIG=tf_config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        ))
    try:
        outputs = [p.communicate(timeout=400) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    chief, worker = (np.load(tmp_path / f"weights{i}.npz") for i in range(2))
    assert int(chief["steps"]) == int(worker["steps"]) == 2 * (180 // 32)
    for key in chief.files:
        np.testing.assert_array_equal(chief[key], worker[key])
    assert (tmp_path / "run0" / "checkpoints" / "checkpoint").exists()
    assert (tmp_path / "run0" / "history.json").exists()
    assert not (tmp_path / "run1").exists(), sorted(p.name for p in (tmp_path / "run1").rglob("*"))
