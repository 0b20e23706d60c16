"""File helpers: atomic writes (a reader never sees half a file: write beside, then rename), path checks.

Every read and write goes through `tf.io.gfile`, so `gs://...` and TensorFlow's other file
systems work wherever a local path does (tests/test_gfile.py uses `ram://`). TensorFlow
is imported on first use: the tools check their flags before paying for it.
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid

# genzoo's versioned feature classifiers (`evaluation.features`), shared by the tools. Kept here,
# not in `genzoo.evaluation`, so the tools' flag defaults do not load TensorFlow.
DEFAULT_FEATURES_DIR = os.path.join(os.path.expanduser("~"), ".cache", "genzoo", "features")


def is_remote(path: str) -> bool:
    """`gs://b/x`, `ram://x`, ...: a TensorFlow file system other than the local one."""
    return "://" in str(path) and not str(path).startswith("file://")


def join(*parts: str) -> str:
    """os.path.join for local paths; '/'-joins for URLs (their separator on every OS)."""
    return posixpath.join(*parts) if is_remote(parts[0]) else os.path.join(*parts)


def dirname(path: str) -> str:
    return posixpath.dirname(path) if is_remote(path) else os.path.dirname(os.path.abspath(path))


def abspath(path: str) -> str:
    """An absolute local path; URLs unchanged (os.path.abspath would prefix the working folder)."""
    return path if is_remote(path) else os.path.abspath(path)


def expanduser(path: str) -> str:
    return path if is_remote(path) else os.path.expanduser(path)


def _plain_local(path: str) -> bool:
    """A local path without a scheme: `os.path` answers as gfile would, without loading TensorFlow."""
    return "://" not in str(path)


def exists(path: str) -> bool:
    if _plain_local(path):
        return os.path.exists(path)
    import tensorflow as tf

    return tf.io.gfile.exists(path)


def isdir(path: str) -> bool:
    if _plain_local(path):
        return os.path.isdir(path)
    import tensorflow as tf

    return tf.io.gfile.isdir(path)


def makedirs(path: str) -> None:
    import tensorflow as tf

    tf.io.gfile.makedirs(path)


def read_bytes(path: str) -> bytes:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def write_bytes(path: str, data: bytes) -> None:
    """Writes `data` to `path` atomically: a hidden file beside it, renamed over it when complete.

    Local files are also fsync'ed before the rename (a crash leaves the old file or the new one).
    """
    import tensorflow as tf

    folder = dirname(path)
    tf.io.gfile.makedirs(folder)
    tmp = join(folder, f".tmp-{uuid.uuid4().hex[:12]}-{posixpath.basename(path)}")
    try:
        with tf.io.gfile.GFile(tmp, "wb") as f:
            f.write(data)
        if not is_remote(tmp):
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    except BaseException:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)
        raise


def write_json(path: str, value) -> None:
    write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def check_keras_file(path: str, flag: str = "--features") -> None:
    """A one-line UserError unless `path` names an existing .keras file (no TensorFlow needed locally)."""
    from genzoo.errors import UserError

    if not path.endswith(".keras"):
        raise UserError(f"{flag}={path}: expected a .keras file")
    found = (exists(path) and not isdir(path)) if is_remote(path) else os.path.isfile(path)
    if not found:
        raise UserError(f"{flag}={path}: file not found")
