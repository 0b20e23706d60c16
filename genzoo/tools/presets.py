"""Lists the pretrained presets shipped with genzoo: `python -m genzoo.tools.presets`.

Use one with `--preset=NAME` in `sample`, `evaluate`, `export` and `train` (fine-tuning),
or `genzoo.models.from_preset(NAME)` in Python. `--name=NAME` prints its model card.
"""

from __future__ import annotations

import textwrap

from absl import flags

from genzoo.tools import common


def define_flags():
    flags.DEFINE_string("name", None, "Print this preset's whole model card (JSON).")


def _row(info: dict) -> str:
    held = info.get("heldout") or {}
    c2st = (info.get("two_sample") or {}).get("c2st")
    figure = f"{held['bits_per_dim']:.3f} bits/dim ({held['kind']})" if held else "no likelihood"
    test = f"C2ST {c2st['accuracy']:.3f}" if c2st else "C2ST not measured"
    row = (f"{info['name']:<24} {info['model']:<16} {info['train']['dataset']:<10} "
           f"{info['weights_bytes'] / 2**20:5.1f} MB  {figure}, {test}")
    if info.get("description"):
        row += "\n" + textwrap.fill(info["description"], 100, initial_indent="    ", subsequent_indent="    ",
                                    break_on_hyphens=False)
    return row


def main(argv):
    if len(argv) > 1:
        raise common.UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    import json

    from genzoo import presets

    if flags.FLAGS.name:
        print(json.dumps(presets.card(flags.FLAGS.name), indent=2, sort_keys=True))
        return
    for name in presets.names():
        print(_row(presets.card(name)))


if __name__ == "__main__":
    define_flags()
    common.run(main)
