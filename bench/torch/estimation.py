"""PyTorch (torch.float64) reference for bench/cases/estimation.ts: the analytic NTK of the
estimate's reference network (src/estimate/infinite-width-ntk.ts), train x train, computed the
same way ntkd-lab does it:

  infinite  infinitely many optical kernels, the optical layer trained: features scaled by
            sqrt(sigma_v^2 / (k^2 C P) * cover(pixel)), one Gram product G;
            Sigma1 = sigma_w^2 G + sigma_b^2, Theta1 = Sigma1 + sigma_w^2 G.
  bank      a fixed bank of m kernels: the D x D form Q = sum_c T_c^T T_c scattered from the
            k^2C x k^2C tap Gram over output positions, then (X Q) X^T / (m P);
            Theta1 = Sigma1 (the kernels do not train).

then the hidden ReLU layers through the arc-cosine kernels:
  Sigma <- sigma_w^2 kappa1 + sigma_b^2,  Theta <- Theta sigma_w^2 kappa0 + Sigma.
Defaults as ReferenceNetwork: "same" padding, sigma_w^2 = 2, sigma_b^2 = 0, sigma_v^2 = 1.
The images (float32 NHWC) and the bank (float64, layout [k][k][C][m]) come from DATA_DIR, as
ntkd-lab used them. One warm-up call at full size, then the timed one (including the float32 ->
float64 conversion, as ntkd-lab's timing does). Prints one JSON line with the matrix's sum and trace,
which the caller compares with ntkd-lab's.

--threads N sets torch.set_num_threads(N) and OpenBLAS's own pool first (runtime_info.set_threads);
without it PyTorch keeps its defaults (the JSON line reports both thread counts either way).

usage: python3 bench/torch/estimation.py infinite|bank DATA_DIR [--threads N]
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from runtime_info import report, set_threads

WEIGHT_VARIANCE = 2.0
BIAS_VARIANCE = 0.0
KERNEL_VARIANCE = 1.0


def patch_coverage(h, w, k):
    """How many "same"-padded k x k patches cover each pixel: k^2 inside, fewer at the border."""
    ones = torch.ones(1, 1, h, w, dtype=torch.float64)
    return F.conv2d(ones, torch.ones(1, 1, k, k, dtype=torch.float64), padding=k // 2).view(h * w)


def bank_form(bank, h, w, c, k):
    """Q = sum_c T_c^T T_c (D x D, D = h w c) of a bank [k*k*c, m], as kernelBankQuadraticForm."""
    taps = k * k * c
    tap_gram = bank @ bank.T
    off = -(k - 1) // 2
    ys = torch.arange(h).view(h, 1, 1, 1, 1) + torch.arange(k).view(1, 1, k, 1, 1) + off
    xs = torch.arange(w).view(1, w, 1, 1, 1) + torch.arange(k).view(1, 1, 1, k, 1) + off
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    pixel = (ys * w + xs) * c + torch.arange(c).view(1, 1, 1, 1, c)
    pixel = torch.where(inside, pixel, torch.full_like(pixel, -1)).view(h * w, taps)
    d = h * w * c
    valid = (pixel[:, :, None] >= 0) & (pixel[:, None, :] >= 0)
    flat = (pixel[:, :, None] * d + pixel[:, None, :])[valid]
    values = tap_gram.expand(h * w, taps, taps)[valid]
    return torch.bincount(flat, weights=values, minlength=d * d).view(d, d)


def ntk(variant, images, meta, bank):
    n, h, w, c, k = meta["count"], meta["height"], meta["width"], meta["channels"], meta["kernelSize"]
    positions = h * w
    x = images.view(n, h * w * c).double()
    if variant == "infinite":
        weights = KERNEL_VARIANCE / (k * k * c * positions) * patch_coverage(h, w, k).repeat_interleave(c)
        z = x * weights.sqrt()
        cross = z @ z.T
        diag = (z * z).sum(dim=1)
        sigma = WEIGHT_VARIANCE * cross + BIAS_VARIANCE
        theta = sigma + WEIGHT_VARIANCE * cross
    else:
        m = meta["bankKernels"]
        q = bank_form(bank.view(k * k * c, m), h, w, c, k)
        f = x @ q
        scale = 1.0 / (m * positions)
        cross = (f @ x.T) * scale
        diag = (f * x).sum(dim=1) * scale
        sigma = WEIGHT_VARIANCE * cross + BIAS_VARIANCE
        theta = sigma.clone()
    var = WEIGHT_VARIANCE * diag + BIAS_VARIANCE
    for _ in range(meta["hiddenLayers"]):
        norm = torch.sqrt(var[:, None] * var[None, :])
        cos = torch.clamp(sigma / norm, -1.0, 1.0)
        t = torch.acos(cos)
        kappa0 = (math.pi - t) / (2 * math.pi)
        kappa1 = norm * (torch.sin(t) + (math.pi - t) * cos) / (2 * math.pi)
        nxt = WEIGHT_VARIANCE * kappa1 + BIAS_VARIANCE
        theta = theta * WEIGHT_VARIANCE * kappa0 + nxt
        sigma = nxt
        var = WEIGHT_VARIANCE * var * 0.5 + BIAS_VARIANCE
    return theta


def main():
    ap = argparse.ArgumentParser(description="the estimation NTK matrix in torch.float64, timed")
    ap.add_argument("variant", choices=["infinite", "bank"])
    ap.add_argument("data_dir")
    ap.add_argument("--threads", type=int, help="torch and OpenBLAS threads (default: their own)")
    args = ap.parse_args()
    if args.threads is not None:
        if args.threads < 1:
            ap.error(f"--threads must be a positive integer, got {args.threads}")
        set_threads(args.threads)  # before the first op sizes the pool
    variant, folder = args.variant, args.data_dir
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    images = torch.from_numpy(np.fromfile(os.path.join(folder, "images.f32"), dtype="<f4"))
    bank = None
    if variant == "bank":
        bank = torch.from_numpy(np.fromfile(os.path.join(folder, "bank.f64"), dtype="<f8"))
    ntk(variant, images, meta, bank)  # warm-up at full size: allocator, as in a warm session
    t0 = time.perf_counter()
    theta = ntk(variant, images, meta, bank)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "seconds": seconds,
        "sum": theta.sum().item(),
        "trace": theta.diagonal().sum().item(),
        **report(),
    }))


if __name__ == "__main__":
    main()
