"""Layers shared across model families."""

from genzoo.models.layers.convolutional import image_input, num_downsamples
from genzoo.models.layers.coords import AddCoords
from genzoo.models.layers.lstm import SequenceLSTM, lstm_update
from genzoo.models.layers.masked_conv import MaskedConv2D, channel_groups, conv_mask

__all__ = ["AddCoords", "MaskedConv2D", "SequenceLSTM", "channel_groups", "conv_mask", "image_input",
           "lstm_update", "num_downsamples"]
