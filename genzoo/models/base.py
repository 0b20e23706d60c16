"""The contract every genzoo model honours, kept in one place.

A model is a Keras subclassed `keras.Model` built from a `DatasetSpec`:
  * `train_step(data)` / `test_step(data)` hold the algorithm; `data` is a batch
    `{"image": ..., "label": ...}`. Losses are reduced with `global_mean` so the
    update does not depend on the number of replicas.
  * it declares what it can do among its bases (`genzoo.models.capabilities`): every
    model is a `Sampler`, `sample(num, seed, labels=None, temperature=1.0)` returning
    encoded images (see `DatasetSpec`); the same seed gives the same images
    (stateless random ops). `capabilities()` lists them; tools ask it, never `hasattr`.
  * `get_config()` round-trips, so `.keras` files and `config.json` rebuild it.
  * `metric_names` lists what `train_step` reports; `monitor` is the held-out
    metric to watch (lower is better).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genzoo.data.spec import DatasetSpec
from genzoo.errors import UserError
from genzoo.models import capabilities as caps


def seed_pair(seed, step) -> tf.Tensor:
    """A stateless-RNG seed from a base seed and a step counter."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])


def make_optimizer(learning_rate: float, **adam_kwargs) -> keras.optimizers.Optimizer:
    """Adam, wrapped in dynamic loss scaling when the global policy computes in float16.

    float16 gradients underflow without loss scaling; bfloat16 has float32's range
    and needs none (Micikevicius et al. 2018, *Mixed Precision Training*).
    """
    optimizer = keras.optimizers.Adam(learning_rate, **adam_kwargs)
    if keras.config.dtype_policy().compute_dtype == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def dense_gradients(gradients) -> list:
    """Gradients with every `tf.IndexedSlices` (an embedding lookup's gradient) summed into a dense tensor.

    Keras 3's Adam squares an `IndexedSlices` gradient's rows before it sums the rows
    of a repeated index, so an embedding row looked up n times gets the second moment
    of n separate gradients, not of their sum (a wrong, larger step), and each of its
    dense conversions sums all rows again (25,600 rows of 2,048 per pixel_lstm step).
    Summing once here gives Adam the true gradient; inside XLA the sum is one scatter.
    """
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in gradients]


def require_positive(**values) -> None:
    """Refuses a hyper-parameter below 1, naming it."""
    for name, value in values.items():
        if value < 1:
            raise UserError(f"{name} must be positive, got {value}")


def check_python_temperature(temperature) -> None:
    """Refuses a negative temperature given as a Python number (tensors are checked in-graph by serving)."""
    if isinstance(temperature, (int, float)) and temperature < 0:
        raise UserError(f"temperature must be >= 0, got {temperature}")


class GenerativeModel(keras.Model, caps.Sampler):
    """Base class: holds the spec, the seed and the metric trackers."""

    monitor = "loss"
    default_learning_rate = 1e-3  # what `--learning_rate` means when not given

    def __init__(self, spec: DatasetSpec | dict, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec if isinstance(spec, DatasetSpec) else DatasetSpec.from_config(spec)
        self.seed = int(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    metric_names: tuple[str, ...] = ("loss",)

    @property
    def metrics(self):
        """The per-example metric trackers (Keras resets them each epoch)."""
        return list(self.trackers.values())

    def track(self, values: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Updates each tracker with per-example values; returns all results."""
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def step_seed(self, salt: int = 0) -> tf.Tensor:
        """Seed of this training step: reproducible, and restored with the optimizer on resume."""
        return seed_pair(self.seed * 1000003 + salt, self.optimizer.iterations)

    def compile_for_training(self, learning_rate: float) -> None:
        """Creates and builds the optimizer(s); call inside the strategy scope."""
        self.compile(optimizer=make_optimizer(learning_rate))
        self.optimizer.build(self.trainable_variables)

    def forward_flops(self, batch: int) -> float | None:
        """FLOPs of one teacher-forced forward pass at `batch` images, where a loop hides them
        from TensorFlow's graph profiler (the benchmark profiles the graph otherwise): None."""
        return None

    def end_epoch(self, train_ds: tf.data.Dataset) -> None:
        """Called by the training loop after each epoch's steps, before the held-out evaluation
        and the checkpoints, with the training split (unbatched examples in their stored order,
        not mirrored). Nothing by default; a VAE fits its code mixture here."""

    def checkpoint_objects(self) -> dict:
        """What a checkpoint holds besides the trainer's own counters."""
        return {"model": self, "optimizer": self.optimizer}

    # === Capabilities ===
    def capabilities(self) -> frozenset[type]:
        """What this model can do (`genzoo.models.capabilities`): its class's declared bases.

        A model whose abilities depend on its hyper-parameters narrows this set.
        """
        return caps.declared(type(self))

    @classmethod
    def registered_name(cls) -> str | None:
        """The registry name of exactly this class (None for an unregistered subclass)."""
        return cls.__dict__.get("_registered_as")

    @property
    def conditional(self) -> bool:
        """Whether the model takes class labels (it declares `Conditional`)."""
        return caps.Conditional in self.capabilities()

    def labels_for(self, num, labels):
        """int32 labels for `num` images: conditional models cycle the classes when None;
        other models refuse labels."""
        if not self.conditional:
            if labels is not None:
                raise UserError(f"{type(self).__name__} is not conditional; it takes no labels")
            return None
        if labels is None:
            return tf.range(num) % self.spec.num_classes
        return tf.cast(labels, tf.int32)

    def check_temperature(self, temperature) -> None:
        """Samplers that are not `tempered` take only temperature 1 (a tensor is left to the caller)."""
        check_python_temperature(temperature)
        if not self.tempered and isinstance(temperature, (int, float)) and temperature != 1.0:
            raise UserError(f"{type(self).__name__} has no sampling temperature; got {temperature}")

    def get_config(self):
        """The constructor's arguments (the spec as a dict): what `.keras` files and `config.json` keep."""
        return {"spec": self.spec.to_config(), "seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        """The model `get_config` describes (untrained weights)."""
        return cls(**config)
