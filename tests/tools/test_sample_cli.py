"""`python -m genzoo.tools.sample` modes on tiny one-epoch runs: interpolate, attribute, complete, bad flags."""

import numpy as np
import pytest
import tensorflow as tf

from tests.tools.conftest import (
    assert_one_line_errors,
    grid_cells,
    grid_shape,
    run_tool,
    small_hparams,
    start_tool,
)


def _finish(proc):
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_npz):
    """One-epoch runs of a tiny cgan and pixel_cnn, trained side by side (each process is mostly start-up)."""
    folder = tmp_path_factory.mktemp("runs")
    # The cgan plays RGB, not palette: an untrained generator's colours all round to one
    # palette entry, so its palette samples would be blank whether or not the code space works.
    extra = {"cgan": ["--encoding=rgb"], "pixel_cnn": []}
    procs = [start_tool("train", f"--model={model}", f"--dataset={small_npz}", f"--model_dir={folder / model}",
                        "--epochs=1", "--batch_size=60", "--num_samples=4", small_hparams(model), *flags)
             for model, flags in extra.items()]
    for proc in procs:
        _finish(proc)
    return {model: str(folder / model) for model in extra}


def _draw(runs, out, model, *flags):
    """Starts the sample tool writing `out`; returns the process."""
    return start_tool("sample", f"--model_dir={runs[model]}", f"--out={out}", "--seed=3", *flags)


def _png(path):
    return tf.io.decode_png(path.read_bytes()).numpy()


def test_code_space_grids_and_completions(runs, tmp_path):
    flags = ["--num=12", "--steps=4", "--labels=1,2"]
    procs = [_draw(runs, tmp_path / "interpolate.png", "cgan", "--mode=interpolate", *flags),
             _draw(runs, tmp_path / "attribute.png", "cgan", "--mode=attribute", *flags),
             _draw(runs, tmp_path / "complete.png", "pixel_cnn", "--mode=complete", "--num=4", "--known_fraction=0.5")]
    for proc in procs:
        _finish(proc)
    for mode in ("interpolate", "attribute"):
        png = _png(tmp_path / f"{mode}.png")
        assert png.shape == grid_shape(3, 4), mode  # --num // --steps rows of --steps images
        cells = grid_cells(png, 3, 4).astype(np.int32)
        assert all(cell.std() > 0 for row in cells for cell in row), mode  # no blank image
        # Each row walks somewhere: its ends differ (two codes, or -2 and +2 attribute vectors).
        assert all(np.abs(row[0] - row[-1]).max() > 0 for row in cells), mode

    png = _png(tmp_path / "complete.png")
    assert png.shape == grid_shape(2, 6)  # 4 (original, masked, completed) triples, 2 per row
    known = 10 * 4  # the first half of the 20 rows, upscaled 4x
    for original, masked, completed in grid_cells(png, 2, 6).reshape(4, 3, 80, 80, 3):
        assert original.std() > 0
        np.testing.assert_array_equal(completed[:known], original[:known])
        np.testing.assert_array_equal(masked[:known], original[:known])
        assert (masked[known:] == 128).all()  # hidden pixels are drawn grey


def test_bad_flags_give_one_line_error_and_write_nothing(runs, tmp_path):
    cases = {
        "one step": (["cgan", "--mode=interpolate", "--steps=1"], "--steps must be at least 2, got 1"),
        "no code space": (["pixel_cnn", "--mode=attribute"], "has no code space to attribute in"),
        "unknown mode": (["cgan", "--mode=morph"], "--mode"),
        "one body, no background": (["cgan", "--one_body", "--checkpoint=latest"], "model 'cgan' paints no background to keep one body on"),
        "one body, no gan": (["pixel_cnn", "--noone_body", "--checkpoint=latest"], "model 'pixel_cnn' paints no background"),
    }
    procs = {name: _draw(runs, tmp_path / f"{name}.png", *flags) for name, (flags, _) in cases.items()}
    assert_one_line_errors(procs, cases)
    for name in cases:
        assert not (tmp_path / f"{name}.png").exists(), name


def test_flag_errors_that_need_no_model_come_before_loading_the_run(tmp_path):
    """A folder that holds no run: each flag's own error wins, so it was checked first."""
    missing = f"--model_dir={tmp_path / 'no_run'}"
    cases = {
        "one step": ([missing, "--mode=interpolate", "--steps=1"], "--steps must be at least 2, got 1"),
        "fraction": ([missing, "--mode=complete", "--known_fraction=1.5"], "--known_fraction must lie in [0, 1]"),
        "temperature": ([missing, "--temperature=-1"], "--temperature must be >= 0, got -1.0"),
        "labels": ([missing, "--labels=a,b"], "--labels must be integers, got 'a,b'"),
        "exported one body": ([f"--saved_model={tmp_path / 'no_export'}", "--one_body"],
                              "--one_body is fixed in an exported model: pass it to genzoo.tools.export"),
    }
    procs = {name: start_tool("sample", f"--out={tmp_path / name}.png", *flags) for name, (flags, _) in cases.items()}
    assert_one_line_errors(procs, cases)
    assert not (tmp_path / "no_run").exists()


def test_noone_body_on_a_preset_from_a_fresh_folder(tmp_path):
    """As a user types it: a relative --out in an empty folder; the preset samples one body by default, and
    the grid of --noone_body is the model's every-piece samples."""
    from genzoo import data, presets

    done = run_tool("sample", "--preset=dcgan_pokemon40", "--noone_body", "--num=9", "--seed=4", "--out=grid.png",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]
    model = presets.load("dcgan_pokemon40")
    assert model.one_body
    one = data.to_rgb_uint8(model.sample(9, 4), model.spec).numpy()
    model.set_one_body(False)
    every = data.to_rgb_uint8(model.sample(9, 4), model.spec).numpy()
    cells = grid_cells(_png(tmp_path / "grid.png"), 3, 3, size=40, scale=2)[:, :, ::2, ::2].reshape(one.shape)
    np.testing.assert_array_equal(cells, every)
    assert not np.array_equal(one, every)  # some sample has more than one piece
