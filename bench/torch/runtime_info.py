"""What a PyTorch reference runs on, and its thread setting, for every bench/torch script.

The BLAS is named because Debian's libtorch takes whichever libblas.so.3 the system's
alternatives select: the reference (netlib) BLAS when libopenblas0 is absent (e.g. python3-torch
installed without its recommends), which runs PyTorch's dense layers about 20x slower than
OpenBLAS, so the record must say which one a number was measured with. OpenBLAS's pthread build
keeps its own thread pool, sized by the CPU count, which torch.set_num_threads does not reach:
a "1 thread" PyTorch would still multiply matrices on two. set_threads sets both.
"""
import ctypes
import os

import torch


def _blas_paths():
    try:
        with open("/proc/self/maps") as f:
            keys = ("blas", "blis", "atlas", "mkl")
            return sorted({line.split()[-1] for line in f if "/" in line and any(k in line.lower() for k in keys)})
    except OSError:
        return []


def _openblas():
    """The loaded OpenBLAS (CDLL of an already loaded library returns that library), or None."""
    path = next((p for p in _blas_paths() if os.path.basename(p).startswith("libopenblas")), None)
    if path is None:
        return None
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None


def blas_library():
    """The loaded BLAS: OpenBLAS (pthread/openmp), BLIS, ATLAS, MKL, reference BLAS, or unknown."""
    joined = " ".join(_blas_paths()).lower()
    if "openblas" in joined:
        variant = next((v for v in ("pthread", "openmp") if f"openblas-{v}" in joined), "")
        return f"OpenBLAS {variant}".strip()
    for key, name in (("blis", "BLIS"), ("atlas", "ATLAS"), ("mkl", "MKL")):
        if key in joined:
            return name
    if "/blas/libblas" in joined:
        return "reference BLAS"
    return "unknown"


def set_threads(n):
    """torch.set_num_threads(n), and OpenBLAS's own pool to n threads when OpenBLAS is loaded."""
    torch.set_num_threads(n)
    lib = _openblas()
    if lib is not None:
        lib.openblas_set_num_threads(n)


def blas_threads():
    """OpenBLAS's thread count, or None for another BLAS."""
    lib = _openblas()
    return None if lib is None else int(lib.openblas_get_num_threads())


def report():
    """The fields every script adds to its JSON line."""
    return {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
            "blas": blas_library(), "blas_threads": blas_threads()}
