"""docs/api.md is what tools/make_api_docs.py writes from the docstrings now."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("make_api_docs", REPO / "tools" / "make_api_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_current():
    text = _script().render()
    current = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert current == text, "docs/api.md is out of date: run python tools/make_api_docs.py"


def test_api_reference_covers_the_public_names_with_their_docstrings():
    make = _script()
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    for heading in ("## `genzoo.models.capabilities`", "### `genzoo.models.from_preset`", "### `genzoo.data.load`",
                    "### `genzoo.training.train`", "### `genzoo.serving.export`", "### `genzoo.evaluation.sample_quality`"):
        assert heading in text, heading
    assert make.NO_DOC not in text  # every listed public name has a docstring
    assert make.first_paragraph("  One\n  line.\n\n  Not this.") == "One line."
    # Machine-specific parts of defaults do not leak into the page (it must be the same on every machine).
    assert make._clean(f"{Path.home()}/.cache <object at 0xdeadbeef>") == "~/.cache <object>"
