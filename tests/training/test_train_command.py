import shlex

from genzoo.training.config import TrainConfig, train_command


def parsed(command: list[str]) -> dict:
    """`--key=value` -> {key: value}; a bare `--flag` -> True."""
    pairs = (a[2:].split("=", 1) if "=" in a else (a[2:], True) for a in command[3:])
    return dict(pairs)


def test_the_rebuilt_command_parses_back_to_the_same_run_settings():
    train = TrainConfig(model="pixel_cnn", dataset="pokemon", data_dir="/data/pokemon", epochs=7, batch_size=16,
                        learning_rate=2.5e-4, seed=3, flip=True, early_stop=4, hparams={"layers": 5},
                        model_dir="runs/x").to_dict()
    command = train_command(train, model_dir="runs/y")
    assert command[:3] == ["python", "-m", "genzoo.tools.train"]
    values = parsed(command)
    assert {k: values[k] for k in ("model", "dataset", "data_dir")} == {
        "model": "pixel_cnn", "dataset": "pokemon", "data_dir": "/data/pokemon"}
    assert [int(values[k]) for k in ("epochs", "batch_size", "seed", "early_stop")] == [7, 16, 3, 4]
    assert float(values["learning_rate"]) == 2.5e-4 and values["flip"] is True
    assert values["hparams"] == "layers=5" and values["model_dir"] == "runs/y"
    assert not any(a.startswith("--quality") for a in command)  # off unless the run scored itself
    # A card's placeholder in place of the local path; no model_dir unless given.
    card = train_command(train, data_dir="DATA_DIR")
    assert "--data_dir=DATA_DIR" in card and not any(a.startswith("--model_dir") for a in card)
    assert shlex.split(shlex.join(card)) == card


def test_a_gan_command_spells_out_its_recipe_from_the_model_config():
    train = TrainConfig(model="dcgan", dataset="pokemon", model_dir="runs/d").to_dict()
    command = train_command(train, model_config={"loss": "non_saturating", "augment": "color,translation"})
    hparams = next(a for a in command if a.startswith("--hparams="))
    assert "augment=color+translation" in hparams and "loss=non_saturating" in hparams
    # A config saved before `regions` existed painted free RGB, which pokemon's default no longer does.
    assert "regions=0" in hparams.split("=", 1)[1].split(",")


def test_a_run_that_picked_its_best_checkpoint_by_the_training_time_score_says_so():
    # With --quality_every a GAN's best checkpoint is the lowest quality/c2st: without the flag
    # the command would train the same weights but keep another checkpoint as the best.
    train = TrainConfig(model="cgan", dataset="pokemon40", epochs=300, seed=1, quality_every=20,
                        model_dir="runs/c").to_dict()
    values = parsed(train_command(train))
    assert int(values["quality_every"]) == 20 and "quality_samples" not in values
    train = TrainConfig(model="cgan", dataset="pokemon40", quality_every=5, quality_samples=200,
                        features="f.keras", model_dir="runs/c").to_dict()
    values = parsed(train_command(train))
    assert [values["quality_every"], values["quality_samples"], values["features"]] == ["5", "200", "f.keras"]
