"""File helpers: atomic writes (a reader never sees half a file: write beside, then rename), path checks."""

from __future__ import annotations

import json
import os
import tempfile


def write_bytes(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json(path: str, value) -> None:
    write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def check_keras_file(path: str, flag: str = "--features") -> None:
    """A one-line UserError unless `path` names an existing .keras file (no TensorFlow needed)."""
    from genzoo.errors import UserError

    if not path.endswith(".keras"):
        raise UserError(f"{flag}={path}: expected a .keras file")
    if not os.path.isfile(path):
        raise UserError(f"{flag}={path}: file not found")
