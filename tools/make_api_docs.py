"""Writes docs/api.md, the API reference, from genzoo's docstrings: `python tools/make_api_docs.py`.

Public names: a module's `__all__`, or (without one) the functions, classes and constants it
defines whose names do not start with `_`. Each gets its signature (annotations left out)
and the first paragraph of its own docstring. Classes list their public methods defined in
genzoo (capabilities, `GenerativeModel`, `AutoregressiveModel`); model classes list the
capabilities they declare. Standard library only (`inspect`, `ast`); tests/test_api_doc.py checks
that docs/api.md is what this script writes now.

`--check` exits 1 (and writes nothing) when docs/api.md is out of date.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import os
import pkgutil
import re
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "api.md"

# (module, what its section is about). Order is the page's order.
SECTIONS = (
    "genzoo",
    "genzoo.models",
    "genzoo.models.capabilities",
    "genzoo.models.registry",
    "genzoo.data",
    "genzoo.training",
    "genzoo.evaluation",
    "genzoo.serving",
)
# Classes whose own public methods are listed (the contract a user programs against).
WITH_METHODS = ("genzoo.models.base.GenerativeModel", "genzoo.models.autoregressive.base.AutoregressiveModel")
NO_DOC = "*(no docstring)*"

HEADER = """# API reference

Generated from the docstrings by `python tools/make_api_docs.py` (do not edit by hand:
`tests/test_api_doc.py` fails when this page differs from what the script writes). Each
public name with its signature and the first paragraph of its docstring; the guides say
how the pieces fit: [getting started](getting_started.md), [data](data.md),
[training](training.md), [models](models.md), [evaluation](evaluation.md),
[serving](serving.md), [architecture](architecture.md) (the model contract).

`import genzoo` before `tensorflow` in your own scripts (it sets `TF_ENABLE_ONEDNN_OPTS`,
read when TensorFlow loads); its submodules load on first use.
"""


def first_paragraph(doc: str | None) -> str:
    """The first paragraph of a docstring, its lines joined; '' for none."""
    if not doc:
        return ""
    text = inspect.cleandoc(doc)
    return " ".join(line.strip() for line in text.split("\n\n")[0].splitlines())


def _clean(text: str) -> str:
    """Machine-specific parts of a repr replaced: the home folder, object addresses."""
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        text = text.replace(home, "~")
    text = re.sub(r"<class '(?:[\w.]+\.)?(\w+)'>", r"\1", text)
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def signature(obj) -> str:
    """`obj`'s call signature without annotations ('' when Python cannot tell it)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return _clean(str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty)))


def own_doc(obj) -> str:
    """The object's own docstring (a class's, not one inherited from Keras)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if doc and isinstance(obj, type) and doc.startswith(f"{obj.__name__}("):
        return ""  # a dataclass's generated signature, not a docstring
    return first_paragraph(doc)


def method_doc(cls: type, name: str) -> str:
    """A method's docstring, or the one of the genzoo class it overrides (a capability's)."""
    for base in cls.__mro__:
        if base.__module__.startswith("genzoo") and name in base.__dict__:
            doc = first_paragraph(getattr(base.__dict__[name], "__doc__", None))
            if doc:
                return doc
    return ""


def public_names(module) -> list[str]:
    if hasattr(module, "__all__"):
        return sorted(module.__all__, key=lambda n: (n.lstrip("_").lower(), n))
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if inspect.isfunction(value) or inspect.isclass(value):
            if value.__module__ == module.__name__:
                names.append(name)
        elif name.isupper():
            names.append(name)
    return names


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def capabilities_of(cls: type) -> list[str]:
    from genzoo.models import capabilities

    found = [c.__name__ for c in vars(capabilities).values()
             if inspect.isclass(c) and c is not capabilities.Capability
             and issubclass(c, capabilities.Capability) and issubclass(cls, c)]
    return found


def _entry(title: str, sig: str | None, doc: str, extra: list[str] = ()) -> list[str]:
    lines = [f"### `{title}`", ""]
    if sig is not None:
        lines += ["```python", sig, "```", ""]
    lines += [doc or NO_DOC, ""]
    lines += list(extra)
    return lines


def _methods(cls: type) -> list[str]:
    lines = []
    for name, value in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if inspect.isfunction(value):
            lines.append(f"- `{name}{signature(value)}`: {method_doc(cls, name) or NO_DOC}")
        elif isinstance(value, property):
            lines.append(f"- `{name}` (property): {first_paragraph(value.__doc__) or NO_DOC}")
    return lines + [""] if lines else []


def document(module_name: str, documented: set[str]) -> list[str]:
    from genzoo.models import capabilities

    module = importlib.import_module(module_name)
    lines = [f"## `{module_name}`", "", first_paragraph(module.__doc__) or NO_DOC, ""]
    for name in public_names(module):
        value = getattr(module, name)
        title = f"{module_name}.{name}"
        if isinstance(value, types.ModuleType):
            link = f" See [`{value.__name__}`](#{value.__name__.replace('.', '')})." \
                if value.__name__ in documented else ""
            lines += _entry(title, None, f"Module. {first_paragraph(value.__doc__) or NO_DOC}{link}")
        elif inspect.isclass(value):
            extra = []
            if value.__module__ == capabilities.__name__ or _qualname(value) in WITH_METHODS:
                extra = _methods(value)
            elif issubclass(value, capabilities.Sampler):
                extra = ["Capabilities declared by the class (an instance's: `model.capabilities()`): "
                         + ", ".join(f"`{c}`" for c in capabilities_of(value)), ""]
            lines += _entry(f"class {title}", f"{name}{signature(value)}", own_doc(value), extra)
        elif callable(value):
            lines += _entry(title, f"{name}{signature(value)}", own_doc(value))
        else:
            lines += _entry(title, f"{name} = {_clean(repr(value))}", "Constant.")
    if module_name == "genzoo.evaluation":  # its submodules, read (not imported: some start work)
        lines += ["Submodules:", ""]
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda m: m.name):
            source = Path(module.__path__[0], f"{info.name}.py").read_text(encoding="utf-8")
            doc = first_paragraph(ast.get_docstring(ast.parse(source), clean=False))
            lines.append(f"- `{module_name}.{info.name}`: {doc or NO_DOC}")
        lines.append("")
    return lines


def render() -> str:
    """The text of docs/api.md."""
    sys.path.insert(0, str(REPO))
    documented = set(SECTIONS)
    lines = [HEADER, "Sections: " + ", ".join(f"[`{m}`](#{m.replace('.', '')})" for m in SECTIONS) + ".", ""]
    for module_name in SECTIONS:
        lines += document(module_name, documented)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is out of date")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    text = render()
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is out of date: run python tools/make_api_docs.py", file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    missing = text.count(NO_DOC)
    print(f"wrote {out} ({len(text.splitlines())} lines, {missing} names without a docstring)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
