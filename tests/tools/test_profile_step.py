"""tools/profile_step.py sums a profiler trace's kernel time by op type."""

import os
import sys

import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import profile_step


def test_op_seconds_counts_the_kernels_of_a_traced_function(tmp_path):
    a = tf.random.normal([512, 512])
    run = tf.function(lambda x: tf.reduce_sum(tf.linalg.matmul(x, x)))
    run(a).numpy()
    tf.profiler.experimental.start(str(tmp_path))
    for _ in range(3):
        run(a).numpy()
    tf.profiler.experimental.stop()
    totals = profile_step.op_seconds(str(tmp_path))
    matmul = sum(seconds for kind, seconds in totals.items() if "MatMul" in kind)
    assert matmul > 0
    assert "Sum" in totals
    # Function frames and C++ frames are not kernels: they would count the kernels twice.
    assert not any(kind.startswith("__inference") or "::" in kind for kind in totals)
    assert matmul > totals["Sum"]  # 2 * 512^3 FLOPs against a 512^2 reduction
