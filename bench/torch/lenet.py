"""PyTorch reference for the ntkd-lab LeNet-5 epoch benchmark.

Same model (conv5x5(6, same)-relu-maxpool2-conv5x5(16)-relu-maxpool2-fc120-relu-fc84-relu-fc10),
same data (the first N real MNIST training images, scaled to [0, 1]), batch, optimizer (Adam,
lr 1e-3) and loss (softmax cross-entropy) as bench/cases/lenet.ts. One warm-up step, then one
timed epoch. Prints one JSON line.

usage: python3 bench/torch/lenet.py MNIST_DIR [N=2048] [BATCH=128]
"""
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn


def read_idx(path, magic):
    with open(path, "rb") as f:
        data = f.read()
    (got,) = struct.unpack(">I", data[:4])
    if got != magic:
        raise SystemExit(f"{path}: magic {got:#x}, expected {magic:#x}")
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def load_mnist(folder, n):
    dims, pixels = read_idx(os.path.join(folder, "train-images-idx3-ubyte"), 0x803)
    _, labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte"), 0x801)
    if n > dims[0]:
        raise SystemExit(f"N={n} exceeds the {dims[0]} images in {folder}")
    h, w = dims[1], dims[2]
    x = torch.frombuffer(bytearray(pixels[: n * h * w]), dtype=torch.uint8).float().div_(255).view(n, 1, h, w)
    y = torch.frombuffer(bytearray(labels[:n]), dtype=torch.uint8).long()
    return x, y


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def main():
    folder = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    torch.manual_seed(0)
    x, y = load_mnist(folder, n)
    model = lenet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    step(x[:batch], y[:batch])  # warm-up: allocator and kernel selection
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        loss = step(x[start : start + batch], y[start : start + batch])
    final = loss.item()
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "seconds": seconds,
        "final_loss": final,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
