"""bench/torch_steps.py: the training steps that `npm run bench` times (bench/torch.ts), in PyTorch.

Networks (batch 64, inputs randn, labels i*7 % 10, as bench/wasm.ts):
  mlp   784-100-10, SGD lr 1e-3 (bench/wasm.ts's MLP step)
  cnn   conv 32 5x5 pad 2 - relu - 2x2 max pool - 100 - relu - 10, SGD lr 1e-3 (bench/wasm.ts's CNN)
  main  `layerwise train`'s default network: conv 16 5x5 pad 2 - batch norm - relu - 2x2 max pool
        - 100 - batch norm - relu - dropout 0.3 - 10, Adam lr 2e-3 (train mode)
A step is zero_grad, forward, cross-entropy, backward and the optimizer step. Timing mirrors
bench/common.ts's timeMs: `warmup` steps (and at least `warmupMs`), then single steps until at
least `reps` of them and `minMs` of time (at most `maxReps` steps), median. One JSON object per line on stdout.

  /usr/bin/python3 bench/torch_steps.py [--threads 1,2] [--models mlp,cnn,main]
  /usr/bin/python3 bench/torch_steps.py --serve   # one JSON request per stdin line, one reply per line

--serve is what bench/torch.ts uses, so that one interpreter (torch's import takes ~2 s) serves
requests {"model": "cnn", "threads": 1, "batch": 64, "lr": 1e-3, "minMs": 1000} (for "main" also
"options": {"numFilters", "filterSize", "hiddenDim", "dropout"}, the CLI's) interleaved with the
layerwise runs. Run it with glibc malloc thresholds raised (bench/torch.ts sets
MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_): otherwise every step's large
tensors are fresh mmaps, and their page faults cost torch a good part of its speed. The linear
layers run on the BLAS behind libblas.so.3: with Debian's reference BLAS they are ~30x slower
than with OpenBLAS (libopenblas0-pthread), which bench/torch.ts puts first on LD_LIBRARY_PATH
where it finds one; the reply names the library ("blas") and its thread count ("blasThreads").
"""
import ctypes
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def network(kind, opts):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(32 * 14 * 14, 100), nn.ReLU(), nn.Linear(100, 10))
    if kind == "main":
        F_, k, hidden = opts.get("numFilters", 16), opts.get("filterSize", 5), opts.get("hiddenDim", 100)
        return nn.Sequential(
            nn.Conv2d(1, F_, k, padding=(k - 1) // 2), nn.BatchNorm2d(F_), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(F_ * 14 * 14, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Dropout(opts.get("dropout", 0.3)), nn.Linear(hidden, 10))
    raise ValueError(f"torch_steps.py: unknown model '{kind}' (known: mlp, cnn, main)")


def optimizer(kind, params, lr):
    if kind == "main":
        return torch.optim.Adam(params, lr=lr if lr is not None else 2e-3)
    return torch.optim.SGD(params, lr=lr if lr is not None else 1e-3)


def blas_library():
    """The BLAS library this process loaded (libblas.so.3 or an OpenBLAS), as a real path, or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line and "/" in line}
    except OSError:
        return None
    real = sorted({os.path.realpath(p) for p in paths})
    return next((p for p in real if "openblas" in p), real[0] if real else None)


def set_blas_threads(threads):
    """OpenBLAS keeps its own thread pool, which torch.set_num_threads does not size: size it too."""
    path = blas_library()
    if path is None or "openblas" not in path:
        return None
    lib = ctypes.CDLL(path)
    if not hasattr(lib, "openblas_set_num_threads"):
        return None
    lib.openblas_set_num_threads(threads)
    return lib.openblas_get_num_threads()


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(kind, threads, batch=64, lr=None, opts=None, warmup=5, reps=5, min_ms=1000.0,
            warmup_ms=0.0, max_reps=50):
    torch.set_num_threads(threads)
    blas_threads = set_blas_threads(threads)
    torch.manual_seed(0)
    model = network(kind, opts or {})
    model.train()
    opt = optimizer(kind, model.parameters(), lr)
    X = torch.randn(batch, 784) if kind == "mlp" else torch.randn(batch, 1, 28, 28)
    y = torch.arange(batch) * 7 % 10

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(X), y).backward()
        opt.step()

    warm_start, warmed = time.perf_counter(), 0
    while warmed < warmup or (time.perf_counter() - warm_start) * 1e3 < warmup_ms:
        step()
        warmed += 1
    faults0 = minor_faults()
    times = []
    start = time.perf_counter()
    while len(times) < reps or ((time.perf_counter() - start) * 1e3 < min_ms and len(times) < max_reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(times)[len(times) // 2]  # timeMs's median (the upper one of an even count)
    return {
        "model": kind,
        "threads": threads,
        "torchThreads": torch.get_num_threads(),
        "blas": blas_library(),
        "blasThreads": blas_threads,
        "batch": batch,
        "steps": len(times),
        "msMedian": ms,
        "msMin": min(times),
        "samplesPerSec": batch * 1e3 / ms,
        "minorFaultsPerStep": (minor_faults() - faults0) / len(times),
    }


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve():
    reply({"ready": True, "torch": torch.__version__, "python": sys.version.split()[0]})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            reply(measure(req["model"], int(req["threads"]), int(req.get("batch", 64)),
                          lr=req.get("lr"), opts=req.get("options"),
                          min_ms=float(req.get("minMs", 1000)),
                          warmup_ms=float(req.get("warmupMs", 0)),
                          max_reps=int(req.get("maxReps", 50))))
        except Exception as e:  # noqa: BLE001 - the reply names the failure; bench/torch.ts reports it
            reply({"error": f"{type(e).__name__}: {e}"})


def main(argv):
    if "--serve" in argv:
        serve()
        return
    threads, kinds = [1, 2], ["mlp", "cnn", "main"]
    for flag, value in zip(argv, argv[1:]):
        if flag == "--threads":
            threads = [int(t) for t in value.split(",")]
        if flag == "--models":
            kinds = value.split(",")
    for kind in kinds:
        for t in threads:
            reply({"torch": torch.__version__, **measure(kind, t)})


if __name__ == "__main__":
    main(sys.argv[1:])
