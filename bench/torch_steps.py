"""bench/torch_steps.py: the training steps of bench/wasm.ts (forward + backward + SGD, batch 64) in
PyTorch, for context beside `npm run bench` (not part of it: PyTorch is not an npm package).
Run with Debian's python3-torch:  /usr/bin/python3 bench/torch_steps.py [threads]
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
X = torch.randn(64, 1, 28, 28)
y = torch.arange(64) * 7 % 10


def bench(model, name):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()

    for _ in range(5):
        step()
    best = float("inf")
    for _ in range(5):
        t0, n = time.perf_counter(), 20
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter() - t0) / n)
    print(f"torch {torch.__version__} {name}, {threads} thread(s): {64 / best:.0f} samples/s")


bench(nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                    nn.Linear(32 * 14 * 14, 100), nn.ReLU(), nn.Linear(100, 10)), "CNN 32c5-pool-100-10")
bench(nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)), "MLP 784-100-10")
