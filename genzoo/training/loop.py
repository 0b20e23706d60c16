"""The training loop: `strategy.run(model.train_step)` inside a `tf.function`.

Keras 3 `fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585),
so genzoo drives every strategy with this one loop: a distributed dataset, a
compiled step, a progress bar, TensorBoard summaries, checkpoints and resume.

Resume is exact: the checkpoint holds the global step, each epoch's order is a
shuffle seeded by (seed, epoch), so epoch = step // steps_per_epoch and the
position inside the epoch is step % steps_per_epoch; training noise is seeded
by the optimizer's step counter, which the checkpoint restores too.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time

import keras
import tensorflow as tf

from genzoo import data, distribute, files, images
from genzoo.errors import UserError
from genzoo.evaluation import figures
from genzoo.models import registry
from genzoo.models.capabilities import ExactLikelihood, LikelihoodBound, has
from genzoo.training.checkpoints import Checkpoints
from genzoo.training.config import TrainConfig

SUMMARY_EVERY = 10  # steps between TensorBoard scalar points


class TrainingError(RuntimeError):
    """Training cannot go on (a NaN loss); the last good checkpoint is kept."""


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)


def _count(ds: tf.data.Dataset) -> int:
    n = int(ds.cardinality())
    return n if n >= 0 else int(ds.reduce(0, lambda count, _: count + 1))


def distributed_steps(strategy: tf.distribute.Strategy, model, step: tf.Variable):
    """Compiled train and test steps: each replica runs the model's own step on its share."""

    @tf.function(autograph=False)  # no Python control flow on tensors here: tracing ~1/3 faster
    def train_step(batch):
        strategy.run(model.train_step, args=(batch,))
        step.assign_add(1)

    @tf.function(autograph=False)
    def test_step(batch):
        strategy.run(model.test_step, args=(batch,))

    return train_step, test_step


def monitor_key(model, config: TrainConfig) -> str | None:
    """The history column that picks the best checkpoint (lower is better); None: keep no best.

    Models with a likelihood watch their held-out `monitor`; the others (GANs) have no held-out
    measure of their samples but the quality hook's C2ST accuracy, so they need --quality_every.
    """
    if has(model, ExactLikelihood) or has(model, LikelihoodBound):
        return f"test_{model.monitor}"
    return "quality/c2st" if config.quality_every else None


def _updated(metric) -> bool:
    """Whether a metric has seen a value since its reset; a Mean's count is read as a tensor, which under a
    multi-worker strategy aggregates its per-replica copies (float() of the variable itself fails there)."""
    count = getattr(metric, "count", None)
    return count is None or float(tf.convert_to_tensor(count.value)) > 0


def best_row(history: list[dict], key: str) -> dict | None:
    """The first epoch with the lowest finite `key` (None when no epoch has it)."""
    rows = [row for row in history if math.isfinite(row.get(key, math.nan))]
    return min(rows, key=lambda row: row[key]) if rows else None


def mirror(index, example, seed):
    """Mirrors an example's image left-right with probability 1/2, seeded by (seed, its index)."""
    coin = tf.random.stateless_uniform([], seed=tf.stack([tf.cast(seed, tf.int64), index]))
    image = example["image"]
    return {**example, "image": tf.where(coin < 0.5, tf.reverse(image, axis=[1]), image)}


def build_model(config: TrainConfig, spec: data.DatasetSpec):
    if config.preset:
        from genzoo import presets

        card = presets.card(config.preset)
        if card["model"] == config.model:
            # Fine-tuning: built from the preset's config, so a setting newer than its card takes
            # the value the preset was trained with (what `from_config` gives), not today's default.
            registry.check_hparams(config.model, config.hparams)
            settings = {k: v for k, v in card["model_config"].items() if k not in (*presets.NOT_SETTINGS, "spec")}
            return registry.get(config.model).from_config(
                {**settings, **config.hparams, "spec": spec.to_config(), "seed": config.seed})
    return registry.build(config.model, spec, seed=config.seed, **config.hparams)


class QualityHook:
    """Sample-quality scores of the model every `quality_every` epochs (docs/evaluation.md).

    The feature extractor (`config.features`, a user's .keras model, or else genzoo's
    versioned classifier, the one the evaluate tool uses) and the held-out images'
    features are computed once. Samples come from the fixed `config.seed`, so the
    points of one run's curve differ only by the weights.
    """

    SCORES = ("frechet_distance", "kid", "precision", "recall")  # and c2st (its own test, no features)

    def __init__(self, config: TrainConfig, spec: data.DatasetSpec, test_ds: tf.data.Dataset, verbose: int):
        from genzoo.evaluation import DEFAULT_FEATURES_DIR, features

        self.config, self.spec = config, spec
        heldout, _ = features.arrays(test_ds)
        if heldout is None or len(heldout) < 2:
            raise UserError(f"--quality_every needs at least 2 held-out images; the test split of "
                            f"{config.dataset} has {0 if heldout is None else len(heldout)}")
        if config.features:
            self.extractor = features.user_extractor(config.features)
        else:
            self.extractor = features.dataset_extractor(
                config.features_dir or DEFAULT_FEATURES_DIR, config.dataset, spec, encoding=config.encoding,
                data_dir=config.data_dir, tfds_dir=config.tfds_dir, verbose=verbose)
        self.heldout_rgb = data.to_rgb_uint8(heldout, spec).numpy()
        self.heldout_features = self.extractor(self.heldout_rgb)

    def due(self, epochs_done: int) -> bool:
        return epochs_done % self.config.quality_every == 0

    def __call__(self, model) -> dict[str, float]:
        from genzoo.evaluation import generate, sample_quality, two_sample

        def generate_rgb(seed):
            return data.to_rgb_uint8(generate(model, self.config.quality_samples, seed), self.spec).numpy()

        generated = {}

        def generate_once(seed):
            generated[seed] = generate_rgb(seed)
            return generated[seed]

        scores = sample_quality(self.extractor, None, generate_once, seeds=[self.config.seed],
                                real_features=self.heldout_features)
        out = {f"quality/{name}": scores[name]["mean"] for name in self.SCORES}
        c2st = two_sample.c2st(self.heldout_rgb, generated[self.config.seed], seeds=(self.config.seed,))
        out["quality/c2st"] = c2st["accuracy"]
        return out


class _Run:
    """State of one training run; `train()` below is the public entry point."""

    def __init__(self, config: TrainConfig, verbose: int):
        self.config, self.verbose = config.validate(), verbose
        self.strategy = distribute.get_strategy(config.strategy, config.tpu)
        self.chief = is_chief(self.strategy)
        load = {"encoding": config.encoding, "data_dir": config.data_dir, "tfds_dir": config.tfds_dir}
        train_ds, self.spec = data.load(config.dataset, "train", **load)
        self.test_ds, _ = data.load(config.dataset, "test", **load)
        self.train_ds = train_ds.cache()
        self.num_train = _count(self.train_ds)
        self.steps_per_epoch = self.num_train // config.batch_size
        if self.steps_per_epoch == 0:
            raise UserError(f"--batch_size {config.batch_size} is larger than the {self.num_train} training images")
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise UserError(f"--batch_size {config.batch_size} does not split over {replicas} replicas")
        # Before seeding: training a missing feature classifier reseeds every global
        # generator, and the run must not depend on whether it did (same weights either way).
        self.quality = None
        if config.quality_every and self.chief:
            self.quality = QualityHook(config, self.spec, self.test_ds, verbose)
        keras.utils.set_random_seed(config.seed)  # the same seed gives the same initial weights
        previous_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(config.precision)  # read when layers and optimizers are made
        try:
            with self.strategy.scope():
                self.model = build_model(config, self.spec)
                if config.preset:  # fine-tuning; a resumed run's checkpoint replaces these weights
                    from genzoo import presets

                    presets.apply_weights(self.model, config.preset)
                self.model.compile_for_training(config.learning_rate)
                self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        finally:
            keras.config.set_dtype_policy(previous_policy)
        self.checkpoints = Checkpoints(
            os.path.join(config.model_dir, "checkpoints"), config.keep_checkpoints, self.chief,
            keep_scored=config.keep_scored, step=self.step, **self.model.checkpoint_objects(),
        )
        self.writers = {}
        if self.chief:
            logs = os.path.join(config.model_dir, "logs")
            self.writers = {s: tf.summary.create_file_writer(os.path.join(logs, s)) for s in ("train", "test")}

    def _step(self) -> int:
        # .numpy(): int() does not accept a MirroredVariable under multi-worker.
        return int(self.step.numpy())

    def _compile_steps(self):
        return distributed_steps(self.strategy, self.model, self.step)

    def _epoch_batches(self, epoch: int, skip: int):
        seed = self.config.seed * 100003 + epoch
        ds = self.train_ds.shuffle(self.num_train, seed=seed, reshuffle_each_iteration=False)
        if self.config.flip:  # seeded by (epoch, position in the epoch): resume draws the same flips
            ds = ds.enumerate().map(lambda i, ex: mirror(i, ex, seed), num_parallel_calls=tf.data.AUTOTUNE)
        ds = (
            ds.batch(self.config.batch_size, drop_remainder=True)
            .skip(skip)
            .prefetch(tf.data.AUTOTUNE)
        )
        return self.strategy.experimental_distribute_dataset(ds)

    def _results(self) -> dict[str, float]:
        # A tracker the step never updated (a training-only value, such as a GAN's gradient norms in the held-out
        # pass) is left out, not reported (and written to history and TensorBoard) as 0.
        return {m.name: float(m.result()) for m in self.model.metrics if _updated(m)}

    def _reset_metrics(self):
        for m in self.model.metrics:
            m.reset_state()

    def evaluate(self, test_step) -> dict[str, float]:
        self._reset_metrics()
        ds = self.test_ds.batch(self.config.batch_size).prefetch(tf.data.AUTOTUNE)
        for batch in self.strategy.experimental_distribute_dataset(ds):
            test_step(batch)
        results = self._results()
        self._reset_metrics()
        return results

    # === Outputs ===
    def _write_scalars(self, split: str, values: dict[str, float], step: int):
        if self.writers:
            with self.writers[split].as_default(step=step):
                for name, value in values.items():
                    tf.summary.scalar(name, value)

    def _write_pictures(self, step: int):
        if not self.chief:
            return
        picture = figures.sample_grid(self.model, self.config.num_samples, self.config.seed,
                                      images.auto_scale(self.model.spec.height))
        images.save_png(os.path.join(self.config.model_dir, "samples.png"), picture)
        with self.writers["train"].as_default(step=step):
            tf.summary.image("samples", picture[None], step=step)

    def _history_path(self):
        return os.path.join(self.config.model_dir, "history.json")

    def _load_history(self, epoch: int) -> list[dict]:
        path = self._history_path()
        if not files.exists(path):
            return []
        try:
            return [row for row in json.loads(files.read_text(path)) if row["epoch"] <= epoch]
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise UserError(f"{path} is corrupt ({type(err).__name__}); repair or remove it to resume") from None

    def _save_checkpoint(self):
        self.checkpoints.save(self._step())

    def _early_stop(self, history: list[dict]) -> bool:
        """Whether --early_stop epochs have passed since the best epoch (and says so)."""
        if not (self.config.early_stop and self.monitor and history):
            return False
        best = best_row(history, self.monitor)
        waited = history[-1]["epoch"] - (best["epoch"] if best else 0)
        if waited < self.config.early_stop:
            return False
        if self.verbose:
            print(f"genzoo: early stop: {self.monitor} has not improved for {waited} epochs "
                  f"(best {best[self.monitor]:.4g} at epoch {best['epoch']})" if best else
                  f"genzoo: early stop: no finite {self.monitor} in {waited} epochs")
        return True

    def _check_finite(self, values: dict[str, float]):
        bad = [name for name, value in values.items() if not math.isfinite(value)]
        if bad:
            raise TrainingError(
                f"{bad[0]} became {values[bad[0]]} at step {self._step()}; training stopped, "
                f"the last good checkpoint in {self.checkpoints.directory} is kept "
                "(try a lower --learning_rate)"
            )

    # === The loop ===
    def run(self) -> list[dict]:
        config = self.config
        restored = self.checkpoints.restore_latest()
        if not restored and self.checkpoints.manager.checkpoints:
            if not config.start_over:
                raise UserError(
                    f"no checkpoint in {self.checkpoints.directory} can be read; pass --start_over to train "
                    "from scratch in this folder (its checkpoints and history.json are replaced) or use a new --model_dir")
            print(f"genzoo: --start_over: no checkpoint in {self.checkpoints.directory} can be read; training from scratch")
        if restored:
            # The checkpoint holds the old learning rate; a rerun's --learning_rate wins.
            for obj in self.model.checkpoint_objects().values():
                if isinstance(obj, keras.optimizers.Optimizer):
                    obj.learning_rate = config.learning_rate
        start = self._step()
        if restored and self.verbose:
            print(f"genzoo: resuming from {restored} at step {start}")
        total = config.epochs * self.steps_per_epoch
        history = self._load_history(start // self.steps_per_epoch) if restored else []
        train_step, test_step = self._compile_steps()
        names = [m.name for m in self.model.metrics]
        self.monitor = monitor_key(self.model, config)
        while self._step() < total and not self._early_stop(history):
            epoch, skip = divmod(self._step(), self.steps_per_epoch)
            if self.verbose:
                print(f"Epoch {epoch + 1}/{config.epochs}")
            bar = keras.utils.Progbar(self.steps_per_epoch, stateful_metrics=names, verbose=self.verbose)
            bar.update(skip)
            self._reset_metrics()
            for batch in self._epoch_batches(epoch, skip):
                train_step(batch)
                values = self._results()
                self._check_finite(values)
                step = self._step()
                bar.update(step - epoch * self.steps_per_epoch, list(values.items()))
                if step % SUMMARY_EVERY == 0:
                    self._write_scalars("train", values, step)
                if step % config.checkpoint_every == 0 and step % self.steps_per_epoch:
                    self._save_checkpoint()
            train_values = self._results()
            self.model.end_epoch(self.train_ds)
            test_values = self.evaluate(test_step)
            self._check_finite({f"held-out {k}": v for k, v in test_values.items()})
            step = self._step()
            self._write_scalars("test", test_values, step)
            quality, seconds = {}, 0.0
            if self.quality and self.quality.due(epoch + 1):
                started = time.monotonic()
                quality = self.quality(self.model)
                seconds = time.monotonic() - started
                self._write_scalars("test", quality, step)
            best = best_row(history, self.monitor) if self.monitor else None
            history.append({"epoch": epoch + 1, "step": step, **train_values,
                            **{f"test_{k}": v for k, v in test_values.items()}, **quality})
            if self.chief:
                files.write_json(self._history_path(), history)
            # History first, then the best (and the scored), then the latest checkpoint: a kill in
            # between replays this epoch (its row is dropped on resume), which saves the same again.
            value = history[-1].get(self.monitor, math.nan) if self.monitor else math.nan
            if math.isfinite(value) and (best is None or value < best[self.monitor]):
                self.checkpoints.save_best(step)
            if quality:
                self.checkpoints.save_scored(step)
            self._save_checkpoint()
            self._write_pictures(step)
            if self.verbose:
                shown = ", ".join(f"{k} {v:.4g}" for k, v in test_values.items())
                print(f"  held-out: {shown}", flush=True)
                if quality:
                    shown = ", ".join(f"{k.split('/')[1]} {v:.4g}" for k, v in quality.items())
                    print(f"  quality ({config.quality_samples} samples, {seconds:.1f} s): {shown}", flush=True)
        if not files.exists(os.path.join(config.model_dir, "samples.png")):
            self._write_pictures(self._step())
        self.checkpoints.close()
        for writer in self.writers.values():
            writer.flush()
        return history


def write_config(config: TrainConfig, model, quality_features: dict | None = None, saved: dict | None = None) -> None:
    """Writes config.json, or checks that an existing one (`saved`) is the same run.

    `quality_features`: the record of the quality hook's feature extractor (its file's sha256).
    """
    path = os.path.join(config.model_dir, "config.json")
    if saved is not None:
        config.check_resumable(saved["train"])
    files.write_json(path, {
        "train": config.to_dict(), "model_class": type(model).__name__,
        "model_config": model.get_config(), "genzoo_version": _version(),
        "tensorflow": tf.__version__, "keras": keras.__version__,
        **({"quality_features": quality_features} if quality_features else {}),
    })


def _version():
    from genzoo import __version__

    return __version__


def train(config: TrainConfig, verbose: int = 1) -> tuple[keras.Model, list[dict]]:
    """Trains (or resumes) a run into `config.model_dir`; returns the model and history.

    Leaves in `model_dir`: `config.json`, `checkpoints/`, `logs/` (TensorBoard scalars
    and sample grids), `history.json` (metrics per epoch, with `quality/*` scores every
    `quality_every` epochs) and `samples.png`.
    """
    if verbose and not sys.stdout.isatty():
        verbose = 2 if verbose == 1 else verbose
    config.validate()
    with RunLock(config.model_dir, enabled=_chief_by_environment()):
        saved = read_saved_config(config.model_dir)
        if config.learning_rate is None:  # a rerun keeps the run's rate; a new run takes the model's default
            config.learning_rate = (saved or {}).get("train", {}).get("learning_rate") or \
                registry.get(config.model).default_learning_rate
        run = _Run(config, verbose)
        if run.chief:
            write_config(config, run.model, run.quality.extractor.record if run.quality else None, saved)
        return run.model, run.run()


def read_saved_config(model_dir: str) -> dict | None:
    """The run's config.json (None before the first run); a corrupt one is a user error."""
    path = os.path.join(model_dir, "config.json")
    if not files.exists(path):
        return None
    try:
        saved = json.loads(files.read_text(path))
        saved["train"]["model"]
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise UserError(f"{path} is corrupt ({type(err).__name__}); repair it or use a new --model_dir") from None
    return saved


class RunLock:
    """`model_dir/.lock` holding `host:pid` of the training process: a second training of the same
    run is refused while the first lives; a lock left by a dead process of this host is taken over.

    Locally the lock is created atomically (O_EXCL). On remote file systems (`gs://`) it is
    checked, then written: it guards against mistakes, not against two starts in the same
    second, and a lock of another host stays until its run ends or it is removed by hand.
    """

    def __init__(self, model_dir: str, enabled: bool = True):
        self.path = files.join(model_dir, ".lock") if enabled else None
        self.me = f"{socket.gethostname()}:{os.getpid()}"

    def __enter__(self):
        if self.path is None:  # a multi-worker run's other workers: the chief holds the lock
            return self
        folder = files.dirname(self.path)
        # The outermost folder this run creates (`runs/` of a first `runs/vae`): removed again,
        # with what is under it, if the run fails before writing anything.
        self.created = None
        while not files.exists(folder):
            self.created = folder
            if files.is_remote(folder):  # a bucket's folders are names, not made one by one
                break
            folder = files.dirname(folder)
        files.makedirs(files.dirname(self.path))
        while not self._create():
            owner = self._owner()
            if owner != self.me and not self._stale(owner):
                raise UserError(f"{folder} is being trained by process {owner.rpartition(':')[2]} ({owner}); "
                                f"wait for it or use another --model_dir (a lock of a process that is gone: "
                                f"remove {self.path})")
            tf.io.gfile.remove(self.path)  # stale: its process is gone
        return self

    def _create(self) -> bool:
        if files.is_remote(self.path):
            if files.exists(self.path):
                return False
            files.write_bytes(self.path, self.me.encode())
            return True
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            f.write(self.me)
        return True

    def _owner(self) -> str | None:
        try:
            return files.read_text(self.path).strip()
        except (tf.errors.OpError, UnicodeDecodeError):
            return None

    @staticmethod
    def _stale(owner: str | None) -> bool:
        if owner is None:  # vanished or unreadable
            return True
        host, _, pid = owner.rpartition(":")  # a bare pid: a lock of this host (earlier genzoo)
        if host and host != socket.gethostname():
            return False
        return not pid.isdigit() or not _alive(int(pid))

    def __exit__(self, *exc):
        if self.path is not None and self._owner() == self.me:
            tf.io.gfile.remove(self.path)
            folder = files.dirname(self.path)
            if self.created and not tf.io.gfile.listdir(folder):
                tf.io.gfile.rmtree(self.created)


def _chief_by_environment() -> bool:
    """Whether this process is the chief by TF_CONFIG (read before any strategy exists)."""
    try:
        tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except ValueError:
        return True  # the strategy will report the bad TF_CONFIG
    cluster, task = tf_config.get("cluster") or {}, tf_config.get("task") or {}
    if not cluster:
        return True
    kind, index = task.get("type"), task.get("index", 0)
    return kind == "chief" or ("chief" not in cluster and kind == "worker" and index == 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
