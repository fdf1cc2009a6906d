"""PyTorch references for the per-model epoch benchmarks of bench/cases/models.ts.

The same architectures, layer for layer, as the tfjs builders (widths, kernel sizes, padding,
activations, pooling), trained on the exact arrays the tfjs side wrote (DATA_DIR: inputs.f32,
targets.f32, meta.json), with the same batch, optimizer (Adam, lr 1e-3, eps 1e-7 as tfjs) and
loss. One warm-up step, then one timed epoch. Prints one JSON line with the parameter count,
which the caller checks against the tfjs model's.

  lenet            src/models/teachers/lenet.ts buildLeNet5: conv 5x5 6 "same" ReLU, max pool 2,
                   conv 5x5 16 "valid" ReLU, max pool 2, dense 120 ReLU, 84 ReLU, 10. Cross-entropy.
  compressed-meta  src/models/students.ts buildCompressedMetaOnn with the default PsfConvFrontend:
                   8 softplus PSFs 7x7, each normalised to unit sum, flipped into conv2d's
                   orientation, "same" conv without bias; 4x4 average pooling (sensor binning),
                   dense 128 ReLU, dense 10. Cross-entropy.
  alexnet          src/models/teachers/alexnet.ts buildAlexNetSmall (width 1): 3x3 "same" conv
                   ReLU 64, pool 2, 192, pool 2, 384, 256, 256, pool 2, dense 1024 ReLU,
                   512 ReLU, 10. Cross-entropy.
  unet             src/models/segmentation/unet.ts buildUNet (depth 3, 16 base filters, no
                   batch norm, transposed-conv up-sampling, [upsampled, skip] concatenation),
                   1x1 conv to one logit map. Mean per-pixel BCE on logits (segmentationTaskLoss).

usage: python3 bench/torch/models.py MODEL DATA_DIR [BATCH=128]
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


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


def alexnet_small():
    def conv(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]

    return nn.Sequential(
        *conv(3, 64), nn.MaxPool2d(2),
        *conv(64, 192), nn.MaxPool2d(2),
        *conv(192, 384), *conv(384, 256), *conv(256, 256), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256 * 4 * 4, 1024), nn.ReLU(),
        nn.Linear(1024, 512), nn.ReLU(),
        nn.Linear(512, 10),
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


def main():
    which, folder = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    torch.manual_seed(0)
    x, y = load(folder)
    if which == "unet":
        model = UNet()
        y = y.permute(0, 3, 1, 2).contiguous()  # masks NHWC [n, H, W, 1] -> NCHW
        loss_fn = nn.BCEWithLogitsLoss()
    else:
        model = {"lenet": lenet5, "compressed-meta": compressed_meta, "alexnet": alexnet_small}[which]()
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
    step(x[:batch], y[:batch])  # warm-up: allocator and kernel selection
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        loss = step(x[start : start + batch], y[start : start + batch])
    final = loss.item()
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "seconds": seconds,
        "final_loss": final,
        "params": params,
        "model": which,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
