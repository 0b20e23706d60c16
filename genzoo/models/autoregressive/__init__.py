"""The PixelRNN family: the autoregressive base, its samplers and one file per model."""

from genzoo.models.autoregressive.base import AutoregressiveModel
from genzoo.models.autoregressive.diagonal_bilstm import DiagonalBiLSTM
from genzoo.models.autoregressive.gated_pixel_cnn import GatedPixelCNN
from genzoo.models.autoregressive.pixel_cnn import PixelCNN
from genzoo.models.autoregressive.pixel_lstm import PixelLSTM
from genzoo.models.autoregressive.row_lstm import RowLSTM

__all__ = ["AutoregressiveModel", "DiagonalBiLSTM", "GatedPixelCNN", "PixelCNN", "PixelLSTM", "RowLSTM"]
