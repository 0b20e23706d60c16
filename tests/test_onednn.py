"""genzoo turns TensorFlow's oneDNN kernels on unless the user chose otherwise (genzoo/__init__.py)."""

import os
import subprocess
import sys

import pytest

PROBE = ("import genzoo, tensorflow; from tensorflow.python.util import _pywrap_util_port as p; "
         "print(p.IsMklEnabled())")


@pytest.mark.parametrize("setting, expected", [(None, "True"), ("0", "False"), ("1", "True")])
def test_genzoo_import_sets_onednn_unless_user_set_it(setting, expected):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == expected
