"""docs/models.md's table is the registry's: every model, its class, default learning rate
and hyper-parameters with their defaults, so the page cannot go stale silently."""

import re
from pathlib import Path

from genzoo.models import registry

DOC = Path(__file__).resolve().parents[1] / "docs" / "models.md"


def table_row(name: str) -> str:
    """The row docs/models.md must hold for model `name` (print it to update the page)."""
    cls = registry.get(name)
    hparams = ", ".join(f"{key}={value!r}" for key, value in registry.hyperparameters(cls).items())
    return f"| `{name}` | `{cls.__name__}` | {cls.default_learning_rate:g} | {hparams} |"


def test_models_md_lists_every_registered_model_with_its_defaults():
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \| `\w+` \| .*? \|.*? \|", DOC.read_text(),
                                                        flags=re.MULTILINE)}
    assert sorted(rows) == registry.names()
    for name in registry.names():
        assert any(line.startswith(table_row(name)) for line in DOC.read_text().splitlines()), \
            f"docs/models.md row for {name} is stale; it should start with:\n{table_row(name)}"
