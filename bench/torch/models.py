"""PyTorch references for the per-model epoch benchmarks of bench/cases/models.ts.

The same architectures, layer for layer, as the tfjs builders (widths, kernel sizes, padding,
activations, pooling), trained on the exact arrays the tfjs side wrote (DATA_DIR: inputs.f32,
targets.f32, meta.json), with the same batch, optimizer (Adam, lr 1e-3, eps 1e-7 as tfjs) and
loss. One warm-up step, then one timed epoch (or its first --timed-batches batches, scaled to
the epoch, as the tfjs side times them). --threads N sets torch.set_num_threads(N) and
OpenBLAS's own pool (runtime_info.set_threads) before anything is built; without it PyTorch
keeps its defaults. Prints one JSON line with the parameter count, which the caller checks
against the tfjs model's, and the thread counts and BLAS it ran with (runtime_info.report).

  lenet            src/models/teachers/lenet.ts buildLeNet5: conv 5x5 6 "same" ReLU, max pool 2,
                   conv 5x5 16 "valid" ReLU, max pool 2, dense 120 ReLU, 84 ReLU, 10. Cross-entropy.
  compressed-meta  src/models/students.ts buildCompressedMetaOnn with the default PsfConvFrontend:
                   8 softplus PSFs 7x7, each normalised to unit sum, flipped into conv2d's
                   orientation, "same" conv without bias; 4x4 average pooling (sensor binning),
                   dense 128 ReLU, dense 10. Cross-entropy.
  polychromatic    src/models/students.ts buildPolychromaticMetaOnn with its default frontend: 16
                   softplus PSFs 7x7 per colour, each colour's PSF normalised to unit sum, a
                   monochrome sensor summing the three colours (colorMode "sum": one conv2d over
                   the RGB channels), no bias; 2x2 average pooling, flatten, per-image readout
                   standardisation (ReadoutStandardisation), dense 384 ReLU, 192 ReLU, 10.
                   Cross-entropy.
  alexnet          src/models/teachers/alexnet.ts buildAlexNetSmall: 3x3 "same" conv ReLU 64,
                   pool 2, 192, pool 2, 384, 256, 256, pool 2, dense 1024 ReLU, 512 ReLU, 10,
                   every width times --width (as widthMultiplier: max(4, round(n * width));
                   0.25 is the CIFAR-10 teacher outside full mode). Cross-entropy.
  convnet          a user's small convnet (bench/user-convnet.ts): conv 3x3 16 "same" ReLU, max
                   pool 2, conv 3x3 32 "same" ReLU, max pool 2, dense 10 (softmax inside the
                   cross-entropy, as tfjs's softmax + categoricalCrossentropy). The batches are
                   drawn in a fresh random order, as tfjs's model.fit shuffles by default.
  unet             src/models/segmentation/unet.ts buildUNet (depth 3, 16 base filters, no
                   batch norm, transposed-conv up-sampling, [upsampled, skip] concatenation),
                   1x1 conv to one logit map. Mean per-pixel BCE on logits (segmentationTaskLoss).

usage: python3 bench/torch/models.py MODEL DATA_DIR [--batch 128] [--threads N] [--width 1]
                                    [--timed-batches N]
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from runtime_info import report, set_threads


class PsfConv(nn.Module):
    """PsfConvFrontend with parametrization softplus, signed none, energy unit, padding same."""

    def __init__(self, kernels, size, channels):
        super().__init__()
        self.raw_psf = nn.Parameter(torch.randn(kernels, channels, size, size) * 0.5)
        self.padding = size // 2

    def forward(self, x):
        p = F.softplus(self.raw_psf)
        p = p / (p.sum(dim=(2, 3), keepdim=True) + 1e-12)
        return F.conv2d(x, torch.flip(p, dims=(2, 3)), padding=self.padding)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def compressed_meta():
    return nn.Sequential(
        PsfConv(8, 7, 1),
        nn.AvgPool2d(4),
        nn.Flatten(),
        nn.Linear(8 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


class ReadoutStandardisation(nn.Module):
    """Each image's n features to zero mean, unit norm: (x - mean) / sqrt(n (variance + 1e-6))."""

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        variance = x.var(dim=1, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt((variance + 1e-6) * x.shape[1])


def polychromatic():
    return nn.Sequential(
        PsfConv(16, 7, 3),
        nn.AvgPool2d(2),
        nn.Flatten(),
        ReadoutStandardisation(),
        nn.Linear(16 * 16 * 16, 384), nn.ReLU(),
        nn.Linear(384, 192), nn.ReLU(),
        nn.Linear(192, 10),
    )


def alexnet_small(width=1.0):
    def w(n):
        return max(4, math.floor(n * width + 0.5))  # JavaScript's Math.round, as the tfjs builder

    def conv(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]

    return nn.Sequential(
        *conv(3, w(64)), nn.MaxPool2d(2),
        *conv(w(64), w(192)), nn.MaxPool2d(2),
        *conv(w(192), w(384)), *conv(w(384), w(256)), *conv(w(256), w(256)), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(w(256) * 4 * 4, w(1024)), nn.ReLU(),
        nn.Linear(w(1024), w(512)), nn.ReLU(),
        nn.Linear(w(512), 10),
    )


def user_convnet():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, channels=3, depth=3, base=16):
        super().__init__()
        widths = [base * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList()
        cin = channels
        for level in range(depth):
            self.down.append(block(cin, widths[level]))
            cin = widths[level]
        self.bottleneck = block(cin, widths[depth])
        self.up = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for level in reversed(range(depth)):
            self.up.append(nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2))
            self.up_blocks.append(block(2 * widths[level], widths[level]))
        self.logits = nn.Conv2d(base, 1, 1)

    def forward(self, x):
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, blk, skip in zip(self.up, self.up_blocks, reversed(skips)):
            x = blk(torch.cat([up(x), skip], dim=1))
        return self.logits(x)


def load(folder):
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    n = meta["count"]
    h, w, c = meta["inputShape"]
    x = np.fromfile(os.path.join(folder, "inputs.f32"), dtype="<f4").reshape(n, h, w, c)
    y = np.fromfile(os.path.join(folder, "targets.f32"), dtype="<f4").reshape([n] + meta["targetShape"])
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)


def parse_args():
    ap = argparse.ArgumentParser(description="one timed training epoch of a bench model")
    ap.add_argument("model", choices=["lenet", "compressed-meta", "polychromatic", "alexnet", "unet", "convnet"])
    ap.add_argument("data_dir")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, help="torch and OpenBLAS threads (default: their own)")
    ap.add_argument("--width", type=float, default=1.0, help="alexnet's width multiplier")
    ap.add_argument("--timed-batches", type=int, help="time this many batches and scale to the epoch")
    args = ap.parse_args()
    if args.threads is not None and args.threads < 1:
        ap.error(f"--threads must be a positive integer, got {args.threads}")
    if args.timed_batches is not None and args.timed_batches < 1:
        ap.error(f"--timed-batches must be a positive integer, got {args.timed_batches}")
    if args.width != 1.0 and args.model != "alexnet":
        ap.error("--width applies to alexnet only")
    return args


def main():
    args = parse_args()
    # Before anything runs an op: the intra-op pool is sized on first use.
    if args.threads is not None:
        set_threads(args.threads)
    which, batch = args.model, args.batch
    torch.manual_seed(0)
    x, y = load(args.data_dir)
    if which == "unet":
        model = UNet()
        y = y.permute(0, 3, 1, 2).contiguous()  # masks NHWC [n, H, W, 1] -> NCHW
        loss_fn = nn.BCEWithLogitsLoss()
    else:
        builders = {"lenet": lenet5, "compressed-meta": compressed_meta, "polychromatic": polychromatic,
                    "alexnet": lambda: alexnet_small(args.width), "convnet": user_convnet}
        model = builders[which]()
        y = y.argmax(dim=1)  # one-hot rows -> class indices (same cross-entropy)
        loss_fn = nn.CrossEntropyLoss()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    n = x.shape[0]
    starts = list(range(0, n, batch))
    timed = min(args.timed_batches or len(starts), len(starts))
    step(x[:batch], y[:batch])  # warm-up: allocator and kernel selection
    t0 = time.perf_counter()
    if which == "convnet":
        order = torch.randperm(n)
        for start in starts[:timed]:
            idx = order[start : start + batch]
            loss = step(x[idx], y[idx])
    else:
        for start in starts[:timed]:
            loss = step(x[start : start + batch], y[start : start + batch])
    final = loss.item()
    seconds = (time.perf_counter() - t0) * len(starts) / timed
    print(json.dumps({
        "seconds": seconds,
        "final_loss": final,
        "params": params,
        "model": which,
        "timed_batches": timed,
        "batches": len(starts),
        **report(),
    }))


if __name__ == "__main__":
    main()
