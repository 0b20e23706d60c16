"""tools/body_shapes.py counts pieces, specks, lone and thin pixels, fill and holes of bodies on white."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import body_shapes


def _white(n, h=9, w=9):
    return np.full((n, h, w, 3), 255, np.uint8)


def test_a_body_with_a_leg_and_a_speck_and_a_ring():
    image = _white(2)
    image[0, 1:6, 1:6] = 40  # a 5x5 body ...
    image[0, 6:9, 3] = 90  # ... with a leg one pixel wide and three long
    image[0, 0, 8] = 10  # a speck apart from it
    image[1, 0:3, 0:3] = (246, 255, 255)  # a 3x3 ring (one channel below 247 is body) ...
    image[1, 1, 1] = 255  # ... round a one-pixel hole
    s = body_shapes.body_shapes(image)
    assert (s["pieces"], s["one_piece"], s["specks"]) == (1.5, 0.5, 0.5)
    assert s["lone"] == pytest.approx(2 / 37)  # the speck and the leg's end, of 28 + 1 + 8 body pixels
    # Of the largest pieces' 28 + 8 pixels the opening removes the leg and the whole ring (no full 3x3 in it).
    assert s["thin"] == pytest.approx((3 + 8) / 36)
    assert s["fill"] == pytest.approx(36 / (8 * 5 + 3 * 3))  # image 0's box: rows 1-8, columns 1-5
    assert s["holes"] == pytest.approx(1 / 36)


def test_pieces_follow_diagonals_and_long_paths():
    body = np.zeros((1, 7, 7), bool)
    body[0, np.arange(7), np.arange(7)] = True  # one diagonal: one 8-connected piece
    body[0, 0, 4:7] = True  # a second piece
    labels = body_shapes.pieces(body)
    assert len(np.unique(labels[labels > 0])) == 2
    snake = np.zeros((1, 9, 9), bool)
    snake[0, ::2, :] = True
    snake[0, 1::4, -1] = snake[0, 3::4, 0] = True  # a path of 45 pixels back and forth
    assert len(np.unique(body_shapes.pieces(snake)[snake])) == 1


def test_bad_input_and_a_missing_run_are_reported(tmp_path, capsys, pokemon_dir):
    with pytest.raises(ValueError, match=r"uint8 RGB \[N, H, W, 3\], got shape \(5, 6, 3\)"):
        body_shapes.body_shapes(np.zeros((5, 6, 3), np.uint8))
    assert body_shapes.main([str(tmp_path / "no_run"), f"--data_dir={pokemon_dir}"]) == 1
    out, err = capsys.readouterr()
    assert "pokemon40 train sprites: pieces 1.03 per image (0.98 in one)" in out  # the docs quote these
    assert err.startswith("error: ") and "no_run" in err and err.count("\n") == 1


def test_a_preset_is_measured_and_an_unknown_one_named(capsys, pokemon_dir):
    assert body_shapes.main(["--preset=dcgan_pokemon40", "--num=8", f"--data_dir={pokemon_dir}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[2].startswith("preset dcgan_pokemon40: pieces ")
    # The cgan preset samples one body (its card's one_body): its 16 samples of seed 0 each in one piece
    # (every piece, about half are not: docs/gan.md, "One body"); --one_body asks the same of any run.
    for flags, name in (([], "cgan_pokemon40"), (["--one_body"], "cgan_pokemon40 one_body")):
        assert body_shapes.main(["--preset=cgan_pokemon40", "--num=16", *flags, f"--data_dir={pokemon_dir}"]) == 0
        assert capsys.readouterr().out.splitlines()[2].startswith(
            f"preset {name}: pieces 1.00 per image (1.00 in one), specks 0.00 of images")
    assert body_shapes.main(["--preset=vae_pokemon", "--num=4", "--one_body", f"--data_dir={pokemon_dir}"]) == 1
    assert capsys.readouterr().err == "error: --one_body: preset vae_pokemon paints no background to keep one body on\n"
    assert body_shapes.main(["--preset=nope", f"--data_dir={pokemon_dir}"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown preset 'nope'; presets: ")
