"""TrainConfig: every setting of a run, validated, and saved as `config.json`."""

from __future__ import annotations

import dataclasses

from genzoo import files
from genzoo.errors import UserError


def check_run_folder(model_dir: str) -> None:
    """`model_dir` is a run folder (it holds config.json); needs no TensorFlow, so tools fail fast."""
    if not files.isdir(model_dir):
        raise UserError(f"--model_dir={model_dir}: no such folder")
    if not files.exists(files.join(model_dir, "config.json")):
        raise UserError(f"{model_dir}: not a genzoo run (no config.json)")

# A run's identity: resuming with different values would silently mix two runs.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
IDENTITY = ("model", "dataset", "encoding", "hparams", "seed", "batch_size", "precision", "flip", "preset")
MAX_SEED = 2**31 - 1  # numpy and TensorFlow seeds
MAX_SAMPLES = 4096  # images per grid; quality scores build N x N distance matrices


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run: the flags of `genzoo.tools.train` (docs/training.md), as fields."""
    model: str = "vae"
    dataset: str = "shapes"
    model_dir: str = "runs/vae"
    data_dir: str | None = None
    tfds_dir: str | None = None
    encoding: str | None = None
    epochs: int = 15
    batch_size: int = 64
    learning_rate: float | None = None  # None: the model's default_learning_rate
    seed: int = 0
    strategy: str = "default"
    tpu: str = ""
    precision: str = "float32"
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    num_samples: int = 64
    # Sample-quality scores every N epochs (0: off); not part of IDENTITY, they do not change the run.
    quality_every: int = 0
    quality_samples: int = 500
    # Keep the checkpoint of every scored epoch (checkpoints/scored/), so `evaluate` can choose among them.
    keep_scored: bool = False
    features_dir: str | None = None  # genzoo's feature classifiers; None: genzoo.evaluation.DEFAULT_FEATURES_DIR
    features: str | None = None  # a user's .keras feature model instead of genzoo's classifier
    hparams: dict = dataclasses.field(default_factory=dict)
    start_over: bool = False  # train from scratch where no checkpoint of the run can be read
    flip: bool = False  # mirror each training image left-right with probability 1/2 (a mirrored sprite is a sprite)
    preset: str | None = None  # start from a preset's weights (fine-tuning)
    early_stop: int = 0  # stop after N epochs without a better held-out monitor (0: off); not part of IDENTITY

    def validate(self) -> TrainConfig:
        if not 0 <= self.seed <= MAX_SEED:
            raise UserError(f"--seed must lie in 0-{MAX_SEED}, got {self.seed}")
        if self.batch_size < 1:
            raise UserError(f"--batch_size must be at least 1, got {self.batch_size}")
        if self.epochs < 0:
            raise UserError(f"--epochs must be >= 0, got {self.epochs}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise UserError(f"--learning_rate must be positive, got {self.learning_rate}")
        if self.checkpoint_every < 1:
            raise UserError(f"--checkpoint_every must be at least 1, got {self.checkpoint_every}")
        if self.keep_checkpoints < 2:
            raise UserError(f"--keep_checkpoints must be at least 2 (one to fall back to), got {self.keep_checkpoints}")
        if not 1 <= self.num_samples <= MAX_SAMPLES:
            raise UserError(f"--num_samples must lie in 1-{MAX_SAMPLES}, got {self.num_samples}")
        if self.quality_every < 0:
            raise UserError(f"--quality_every must be >= 0 (0 is off), got {self.quality_every}")
        if not 2 <= self.quality_samples <= MAX_SAMPLES:
            raise UserError(f"--quality_samples must lie in 2-{MAX_SAMPLES}, got {self.quality_samples}")
        if self.keep_scored and not self.quality_every:
            raise UserError("--keep_scored needs --quality_every (it keeps the checkpoints of the scored epochs)")
        if self.features and not self.quality_every:
            raise UserError(f"--features={self.features} needs --quality_every (it only picks the quality score's features)")
        if self.features:
            files.check_keras_file(self.features)
        if self.precision not in PRECISIONS:
            raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not self.model_dir:
            raise UserError("--model_dir must not be empty")
        if files.exists(self.model_dir) and not files.isdir(self.model_dir):
            raise UserError(f"--model_dir={self.model_dir} is a file, not a folder")
        if self.early_stop < 0:
            raise UserError(f"--early_stop must be >= 0 (0 is off), got {self.early_stop}")
        if "seed" in self.hparams:
            raise UserError("--hparams must not set seed; use --seed")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def check_resumable(self, saved: dict) -> None:
        """Raises when `saved` (an earlier run's config.json) is a different run."""
        defaults = {f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default
                    for f in dataclasses.fields(self)}
        for key in IDENTITY:
            # A key newer than the saved run means its default (runs from before `flip` existed).
            if saved.get(key, defaults[key]) != getattr(self, key):
                raise UserError(
                    f"{self.model_dir} holds a run with {key}={saved.get(key, defaults[key])!r}, "
                    f"not {getattr(self, key)!r}; "
                    "use a new --model_dir or the same settings"
                )


def train_command(train: dict, model_config: dict | None = None, data_dir: str | None = None,
                  model_dir: str | None = None) -> list[str]:
    """The `python -m genzoo.tools.train` command that reproduces a run, from its config.json `train` section.

    `data_dir` replaces the run's own (e.g. a placeholder for a model card); `model_dir` is
    appended when given. A GAN's recipe hyper-parameters are spelled out from the model's
    config (`model_config`), so the command stays right when what None means for a dataset
    changes (`gan.SMALL_DATA_RECIPE`).
    """
    hparams = dict(train.get("hparams") or {})
    if model_config and train["model"] in ("gan", "dcgan", "cgan"):
        from genzoo.models.gan.gan import saved_recipe

        for key, value in saved_recipe(model_config).items():
            if key not in hparams:
                hparams[key] = value.replace(",", "+") if isinstance(value, str) else value
    data_dir = data_dir if data_dir is not None else train.get("data_dir")
    scored = train.get("quality_every")
    args = ["python", "-m", "genzoo.tools.train", f"--model={train['model']}", f"--dataset={train['dataset']}",
            f"--data_dir={data_dir}" if data_dir else None,
            f"--encoding={train['encoding']}" if train.get("encoding") else None,
            f"--epochs={train['epochs']}", f"--batch_size={train['batch_size']}",
            f"--learning_rate={train['learning_rate']:g}" if train.get("learning_rate") is not None else None,
            f"--seed={train['seed']}",
            "--flip" if train.get("flip") else None,
            f"--early_stop={train['early_stop']}" if train.get("early_stop") else None,
            # The training-time score is what picks a GAN's best checkpoint, so a card's command needs it.
            f"--quality_every={scored}" if scored else None,
            f"--quality_samples={train['quality_samples']}"
            if scored and train.get("quality_samples", TrainConfig.quality_samples) != TrainConfig.quality_samples
            else None,
            f"--features={train['features']}" if scored and train.get("features") else None,
            "--hparams=" + ",".join(f"{k}={v}" for k, v in sorted(hparams.items())) if hparams else None,
            f"--model_dir={model_dir}" if model_dir else None]
    return [a for a in args if a]
