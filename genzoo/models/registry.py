"""Model names -> classes. One `register` line per model; lookups fail loudly."""

from __future__ import annotations

import inspect

from genzoo.errors import UserError

_MODELS: dict[str, type] = {}


def register(name: str):
    """Class decorator: makes the model available as `name` (`--model=name`); a name is registered once."""
    def add(cls):
        if name in _MODELS:
            raise ValueError(f"model name {name!r} is already registered to {_MODELS[name].__name__}")
        _MODELS[name] = cls
        cls._registered_as = name  # read by GenerativeModel.registered_name (serving cannot import this)
        return cls

    return add


def names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_MODELS)


def get(name: str) -> type:
    """The model class registered as `name`; an unknown name is a `UserError` listing the known ones."""
    if name not in _MODELS:
        raise UserError(f"unknown model {name!r}; choose one of {', '.join(names())}")
    return _MODELS[name]


def build(name: str, spec, **hparams):
    """Builds model `name` for `spec`; unknown hyper-parameters are a user error."""
    check_hparams(name, hparams)
    return get(name)(spec=spec, **hparams)


def check_hparams(name: str, hparams: dict) -> None:
    """Unknown hyper-parameters of model `name`, or values of another type than the default's: a user error."""
    accepted = hyperparameters(get(name))
    unknown = sorted(set(hparams) - set(accepted))
    if unknown:
        raise UserError(f"model {name!r} has no hyper-parameter {unknown[0]!r}; it takes {', '.join(accepted)}")
    for key, value in hparams.items():
        _check_type(name, key, value, accepted[key])


def _check_type(model: str, key: str, value, default) -> None:
    """A hyper-parameter's value must have its default's type (an int where a float is expected is fine)."""
    if default is None or value is None:
        return
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise UserError(f"model {model!r}: hyper-parameter {key} must be {expected.__name__}, got {value!r}")


def hyperparameters(cls) -> dict:
    """The keyword arguments of a model class's constructor (besides spec), base classes
    included, with their defaults (None where there is none)."""
    found = {}
    for klass in cls.__mro__:
        if klass.__module__.startswith("keras"):
            break
        for param in inspect.signature(klass.__init__).parameters.values():
            named = param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
            if named and param.name not in ("self", "spec") and param.name not in found:
                found[param.name] = None if param.default is param.empty else param.default
    return found
