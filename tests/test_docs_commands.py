"""Every command block in docs/*.md that a user would copy, run as written.

Slow (trainings and evaluations on the real data): marked `docs`, so default runs skip
it (pytest.ini: `-m "not docs"`). Run it with `python -m pytest -q -m docs tests/test_docs_commands.py`
(BUILD.md). The extractor and its skip list are checked by the fast tests here.

A command block is a fenced block tagged bash/sh/shell, or an untagged one whose first
command line starts with a command word (`python`, `pip`, ...). Each document's blocks run
in order in one fresh temporary working directory, so a block may use the runs an
earlier block of the same document trained; commands run from there with the relative
paths as written. Substituted, and nothing else: the data path (`../shared/data/pokemon`,
`path/to/pokemon`, `--data_dir=DATA_DIR`) by the shared data's absolute path; `/tmp/` by the test's temporary
folder (so runs do not land in the machine's shared /tmp); a short `--epochs` for
`genzoo.tools.train` (1, or the `--quality_every` period so the hook runs once).
Where a block uses runs that its document trains nowhere, PREREQUISITES lists the
commands run first, with why.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
POKEMON = REPO.parent / "shared" / "data" / "pokemon"
COMMAND_WORDS = ("python", "pip", "taskset", "export", "docker", "curl", "tensorflow_model_server",
                 "saved_model_cli", "tensorboard")
SHELL_TAGS = ("bash", "sh", "shell", "console")

# (document, a substring of the block) -> why it is not run. Each entry must match exactly one block.
SKIPPED = {
    ("distributed.md", "export TF_CONFIG"): "a two-machine cluster (TF_CONFIG with other hosts' addresses)",
    ("evaluation.md", "[--dataset=...]"): "a synopsis: [optional] flags, not a command to copy",
    ("getting_started.md", "pip install ."): "installs genzoo from a clone's root; the test runs the installed package",
    ("getting_started.md", "tensorboard --logdir"): "a server that does not exit",
    ("own_images.md", "cp ~/Pictures/cats/*.png"): "an example to adapt: copies the user's own pictures",
    ("evaluation.md", "[--quality_samples=500]"): "a synopsis: [optional] flags and `a | b` alternatives",
    ("training.md", "[--dataset=shapes]"): "a synopsis: [optional] flags, not a command to copy",
    ("performance.md", "python tools/bench.py --data_dir=../shared/data/pokemon --out=docs/figures/bench.json"):
        "repository benchmarks (minutes to hours) that rewrite docs/figures; run from a clone's root",
    ("performance.md", "--parts=train,sampling"): "a repository benchmark, its --out elided (`...`)",
    ("performance.md", "--out=/tmp/bench_sampling_1.json"): "a repository benchmark of the samplers (3 minutes)",
    ("performance.md", "--out=/tmp/bench_train_1.json"): "a repository benchmark of the training step (minutes, torch optional)",
    ("performance.md", "--out=/tmp/bench/s1.json"): "a repository benchmark of the samplers (3 minutes)",
    ("performance.md", "--out=/tmp/bench/t1.json"): "a repository benchmark of the training step (minutes, torch optional)",
    ("performance.md", "--out=/tmp/bench_q1.json"): "a repository benchmark of the training step (minutes, torch optional)",
    ("performance.md", "--out=/tmp/bench_avx2_1.json"): "a repository benchmark of the training step (minutes, torch"
                                                        " optional)",
    ("vae.md", "--components=0,1,5,10,20,50"): "a repository script (tools/) on 30-epoch runs, from a clone's root",
    ("presets.md", "python tools/make_preset.py"): "how the shipped preset was made: a repository script on a"
                                                    " 40-epoch run",
    ("vae.md", "--hparams=pixel_layers=0,blocks=1,log_var_bound=8"): "a record of measured runs with flags elided"
                                                                     " (`...`), not a command to copy",
    ("vae.md", "--hparams=mixture=0"): "a record of measured runs with flags elided (`...`), not a command to copy",
    ("performance.md", "taskset -c 0 python tools/profile_step.py"): "a repository benchmark pinned to one core;"
                                                                      " tests/tools/test_profile_step.py runs the script",
    ("gan.md", "python tools/bench_gan.py"): "a repository benchmark (30 epochs x several losses)",
    ("gan.md", "python tools/gan_ablation.py --model=cgan"): "a repository script (four 300-epoch trainings and"
                                                               " their evaluations), from a clone's root",
    ("pixel_rnn.md", "python tools/count_baselines.py"): "repository benchmarks of the baselines (minutes to hours)",
    ("pixel_rnn.md", "--parts=encodings"): "a repository benchmark (trains every encoding)",
    ("serving.md", "tensorflow_model_server"): "needs the TF Serving binary (not installable on the CI machine)",
    ("serving.md", "docker run"): "needs Docker and the tensorflow/serving image",
    ("serving.md", "curl -s localhost:8501"): "needs a running TF Serving (the two blocks above)",
}

# (document, a substring of the block) -> (commands run first, why). Shapes runs, one epoch.
PREREQUISITES = {
    ("evaluation.md", "--model_dir=runs/cvae --out=eval/cvae"): (
        [f"python -m genzoo.tools.train --model={m} --epochs=1" for m in ("vae", "cvae", "dcgan", "pixel_cnn")],
        "evaluates runs/vae, runs/cvae, runs/dcgan and runs/pixel_cnn, which the page assumes were trained",
    ),
}


@dataclass
class Block:
    doc: str
    line: int  # where the fence opens
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    def commands(self) -> list[str]:
        """Command lines: continuations joined, comment lines and trailing comments dropped."""
        joined = re.sub(r"[ \t]*\\\n\s*", " ", self.text)
        out = []
        for line in joined.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                out.append(line)
        return out


def _is_command(line: str) -> bool:
    words = line.split()
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):  # VAR=value prefixes
        words = words[1:]
    return bool(words) and words[0] in COMMAND_WORDS


def command_blocks(docs: Path = DOCS) -> list[Block]:
    """Every block a user would copy, in document order (documents sorted by name)."""
    blocks = []
    for path in sorted(docs.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```([\w-]*)[ \t]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
            tag, body = match.group(1), match.group(2)
            block = Block(path.name, text[:match.start()].count("\n") + 1, body)
            lines = block.commands()
            if tag in SHELL_TAGS or (not tag and lines and _is_command(lines[0])):
                blocks.append(block)
    return blocks


def _entry(table: dict, block: Block):
    for (doc, needle), value in table.items():
        if doc == block.doc and needle in block.text:
            return value
    return None


def as_run(command: str, tmp: Path) -> list[str]:
    """argv of a docs command with the documented substitutions (module docstring)."""
    # /tmp first: the data path substituted next may itself lie under /tmp (a clone in /tmp).
    command = re.sub(r"(?<![\w.])/tmp/", f"{tmp}/tmp/", command)
    for placeholder in ("../shared/data/pokemon", "path/to/pokemon", "=DATA_DIR"):
        command = command.replace(placeholder, ("=" if placeholder[0] == "=" else "") + str(POKEMON))
    argv = shlex.split(command)
    if argv[:3] == ["python", "-m", "genzoo.tools.train"]:
        period = [int(a.split("=")[1]) for a in argv if a.startswith("--quality_every=")]
        argv = [a for a in argv if not a.startswith("--epochs=")] + [f"--epochs={max(period + [1])}"]
    return [sys.executable if word == "python" else word for word in argv]


# === The extractor and its lists (fast) ===
def test_the_extractor_finds_the_command_blocks_and_only_those(tmp_path):
    (tmp_path / "a.md").write_text(
        "```bash\npython -m x \\\n    --y=1   # note\n# a comment\n```\n"
        "```\ngenzoo/\n  data/   tree\n```\n"
        "```\nTF_X=1 python tools/t.py\n```\n"
        "```python\nimport genzoo\n```\n"
        "```json\n{\"a\": 1}\n```\n")
    blocks = command_blocks(tmp_path)
    assert [(b.line, b.commands()) for b in blocks] == [(1, ["python -m x --y=1"]), (10, ["TF_X=1 python tools/t.py"])]


def test_every_skip_and_prerequisite_entry_names_exactly_one_block():
    blocks = command_blocks()
    for table in (SKIPPED, PREREQUISITES):
        for doc, needle in table:
            found = [b.id for b in blocks if b.doc == doc and needle in b.text]
            assert len(found) == 1, f"{doc}: {needle!r} matches {found}: update the list"
    assert len([b for b in blocks if _entry(SKIPPED, b) is None]) >= 6  # most blocks run


def test_substitutions_are_only_the_data_path_tmp_and_epochs(tmp_path):
    argv = as_run("python -m genzoo.tools.train --model=dcgan --data_dir=../shared/data/pokemon "
                  "--model_dir=/tmp/qh/run --epochs=20 --quality_every=2", tmp_path)
    assert argv == [sys.executable, "-m", "genzoo.tools.train", "--model=dcgan", f"--data_dir={POKEMON}",
                    f"--model_dir={tmp_path}/tmp/qh/run", "--quality_every=2", "--epochs=2"]
    assert as_run("python -m genzoo.tools.sample --model_dir=runs/vae", tmp_path)[3:] == ["--model_dir=runs/vae"]
    assert as_run("python -m genzoo.tools.evaluate --data_dir=DATA_DIR", tmp_path)[3:] == [f"--data_dir={POKEMON}"]


# === Running them (slow: -m docs) ===
def _docs_with_commands() -> list[str]:
    return sorted({b.doc for b in command_blocks() if _entry(SKIPPED, b) is None})


@pytest.mark.docs
@pytest.mark.parametrize("doc", _docs_with_commands())
def test_docs_commands_run_as_written(doc, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path / "home")}  # no shared caches
    work = tmp_path / "work"
    work.mkdir()
    failures = []
    for block in command_blocks():
        if block.doc != doc or _entry(SKIPPED, block) is not None:
            continue
        setup, _ = _entry(PREREQUISITES, block) or ([], "")
        for command in [*setup, *block.commands()]:
            done = subprocess.run(as_run(command, tmp_path), cwd=work, env=env, capture_output=True, text=True,
                                  timeout=1800, check=False)
            if done.returncode:
                failures.append(f"{block.id}: {command}\n    {done.stderr.strip()[-1500:]}")
    assert not failures, "docs commands failed:\n" + "\n".join(failures)
