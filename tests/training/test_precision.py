import keras
import numpy as np
import pytest

from genzoo.errors import UserError
from genzoo.training import TrainConfig, train


@pytest.mark.parametrize("precision, loss_scaling", [("mixed_bfloat16", False), ("mixed_float16", True)])
def test_mixed_precision_trains_with_loss_scaling_only_for_float16(tmp_path, small_npz_dataset, precision, loss_scaling):
    config = TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(tmp_path), epochs=2, batch_size=30,
                         num_samples=4, precision=precision, hparams={"latent_dim": 4, "filters": 8, "hidden": 16})
    model, history = train(config, verbose=0)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == loss_scaling
    assert model.encoder.layers[-1].compute_dtype == precision.split("_")[1]
    assert all(v.dtype == "float32" for v in model.trainable_variables)  # master weights stay float32
    assert np.isfinite(history[-1]["test_loss"]) and history[-1]["loss"] < history[0]["loss"]
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_unknown_precision_is_user_error(tmp_path):
    with pytest.raises(UserError, match="--precision must be one of"):
        TrainConfig(model_dir=str(tmp_path), precision="float8").validate()
