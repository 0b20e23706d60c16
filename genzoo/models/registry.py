"""Model names -> classes. One `register` line per model; lookups fail loudly."""

from __future__ import annotations

from genzoo.errors import UserError

_MODELS: dict[str, type] = {}


def register(name: str):
    def add(cls):
        if name in _MODELS:
            raise ValueError(f"model name {name!r} is already registered to {_MODELS[name].__name__}")
        _MODELS[name] = cls
        return cls

    return add


def names() -> list[str]:
    return sorted(_MODELS)


def get(name: str) -> type:
    if name not in _MODELS:
        raise UserError(f"unknown model {name!r}; choose one of {', '.join(names())}")
    return _MODELS[name]


def build(name: str, spec, **hparams):
    """Builds model `name` for `spec`; unknown hyper-parameters are a user error."""
    cls = get(name)
    try:
        return cls(spec=spec, **hparams)
    except TypeError as err:
        raise UserError(f"model {name!r}: {err}") from None
