"""`--strategy` names to `tf.distribute` strategies, and replica-aware helpers.

Every model's `train_step` runs inside `strategy.run` (genzoo's trainer) or
Keras `fit`; both call it once per replica with that replica's share of the
global batch. The helpers here keep the update independent of the replica count.
"""

from __future__ import annotations

import tensorflow as tf

from genzoo.errors import UserError

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


def split_cpu(num_devices: int) -> None:
    """Splits the CPU into `num_devices` logical devices (must run before TF initialises)."""
    if num_devices < 1:
        raise UserError(f"--cpu_devices must be at least 1, got {num_devices}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    if num_devices > 1:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
            )
        except RuntimeError:
            if len(tf.config.list_logical_devices("CPU")) != num_devices:
                raise UserError("--cpu_devices must be set before TensorFlow starts") from None


def get_strategy(name: str = "default", tpu: str = "") -> tf.distribute.Strategy:
    """Returns the strategy for a `--strategy` name; errors name the valid choices."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise UserError(f"unknown --strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def global_mean(per_example: tf.Tensor) -> tf.Tensor:
    """Sum over this replica's examples / the global batch size.

    Gradients are summed across replicas, so dividing by the global (not the
    local) batch makes the update equal to the single-device one.
    """
    return tf.nn.compute_average_loss(per_example)


def replica_slice(draw_global, local_batch: tf.Tensor) -> tf.Tensor:
    """Noise for this replica's examples, cut from one draw for the global batch.

    `draw_global(n)` draws a stateless tensor for n examples. Each replica draws the
    whole global batch with the same seed and keeps its own rows, so every example
    gets the same noise whatever the number of replicas.
    """
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context else 1
    replica_id = context.replica_id_in_sync_group if context else 0
    noise = draw_global(local_batch * replicas)
    start = tf.cast(replica_id, tf.int32) * local_batch
    return noise[start:start + local_batch]


def replica_sum(value):
    """`value` (a tensor or a list of them) summed over the replicas in sync; itself on one replica."""
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        return context.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value


def global_batch_mean(values: tf.Tensor) -> tf.Tensor:
    """`[B, K]` on each replica -> `[K]`, the mean over the global batch (the same on every replica)."""
    total, count = replica_sum([tf.reduce_sum(values, 0), tf.cast(tf.shape(values)[0], values.dtype)])
    return total / count


def global_gradient_norm(gradients) -> tf.Tensor:
    """Norm of the gradient summed over replicas (what the optimizer applies), for metrics.

    Each replica only holds its share of the sum; one extra all-reduce gives every
    replica the same, replica-count-independent value.
    """
    return tf.linalg.global_norm(replica_sum(gradients))
