"""A PyTorch peer of the lecture's pixel LSTM, for tools/bench.py (torch is never a genzoo dependency).

The model tools/keras_baselines.py writes in plain Keras, written the way a PyTorch user
would: the one-hot previous pixel (a start token first) -> `nn.LSTM(N + 1 -> 512)` ->
`nn.Linear(512 -> N)` over the palette, full-sequence teacher forcing, cross-entropy
averaged over pixels, Adam, batch 64, 2 threads (the machine's cores). Install the CPU
build for yourself with `pip install torch==2.13.0`.

  python tools/torch_pixel_lstm.py --data_dir=../shared/data/pokemon
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def build(num_colors: int, units: int = 512, seed: int = 0):
    """(model, optimizer, step(previous_one_hot, targets) -> loss) of the lecture's model."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class PixelLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(num_colors + 1, units, batch_first=True)
            self.head = nn.Linear(units, num_colors)

        def forward(self, previous):
            return self.head(self.lstm(previous)[0])

    model = PixelLSTM()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(previous, targets):
        optimizer.zero_grad(set_to_none=True)
        logits = model(previous)
        loss = loss_fn(logits.reshape(-1, num_colors), targets.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    return model, optimizer, step


def timed_step(images: np.ndarray, num_colors: int, batch: int = 64, threads: int = 2, units: int = 512):
    """run(n) -> seconds of n training steps on consecutive batches of `images` `[N, H, W]` (palette indices)."""
    import torch

    torch.set_num_threads(threads)
    flat = images.reshape(len(images), -1).astype(np.int64)
    previous = np.concatenate([np.full((len(flat), 1), num_colors), flat[:, :-1]], axis=1)
    eye = torch.eye(num_colors + 1)
    one_hot = eye[torch.from_numpy(previous)]  # materialised once, as the Keras baseline's inputs
    targets = torch.from_numpy(flat)
    _, _, step = build(num_colors, units)
    batches = len(flat) // batch
    position = [0]

    def run(n):
        start = time.perf_counter()
        for _ in range(n):
            k = position[0] % batches
            position[0] += 1
            step(one_hot[k * batch:(k + 1) * batch], targets[k * batch:(k + 1) * batch]).item()
        return time.perf_counter() - start

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default="../shared/data/pokemon")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from genzoo import data
    from genzoo.evaluation.features import arrays

    ds, spec = data.load("pokemon", "train", data_dir=args.data_dir)
    images = arrays(ds)[0]
    run = timed_step(images, spec.num_colors)
    run(2)
    print(f"{run(args.steps) / args.steps:.3f} s per step (batch 64, {spec.num_colors} colours)")


if __name__ == "__main__":
    main()
