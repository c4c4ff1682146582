"""CUDA check of skloss.fused: forward+backward time and peak memory, bf16, CE.

Run on a machine with a CUDA GPU::

    OUT=docs/benchmarks python benchmarks/fused_head_cuda.py

Compares the naive path (materialised logits), the chunked backend and the Triton
kernels at N=8192, D=2304 (the Cut Cross-Entropy paper's shape) for two class
counts, and, when they are importable, Cut Cross-Entropy's ``cce`` kernels
(``pip install cut-cross-entropy``) and Liger-Kernel's fused linear
cross-entropy (``pip install liger-kernel``). A machine without network access
can install them from wheels carried along (``pip download --no-deps ...``).
Each row: best of 5 after one warm-up; peak is torch's allocator peak above the
inputs. The loss of every method is printed so a wrong result shows. Writes
``fused_head_cuda.{json,md}`` into ``$OUT``.

Published anchors (A100, N=8192, D=2304, K=256000, from the Cut Cross-Entropy
paper): CCE 1164 MB / 135 ms, Liger 1474 MB / 303 ms, torch.compile 16000 MB /
143 ms, naive 28000 MB / 207 ms.
"""

import json
import os
import time

import torch

from skloss.fused import linear_loss

SHAPES = [(8192, 2304, 32768), (8192, 2304, 256000)]
REPEATS = 5


def skloss_method(backend):
    def run(h, w, y):
        return linear_loss(h, w, None, y, loss="ce", backend=backend)

    return run


def cce_method():
    from cut_cross_entropy import linear_cross_entropy

    return lambda h, w, y: linear_cross_entropy(h, w, y, impl="cce")


def liger_method():
    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    loss = LigerFusedLinearCrossEntropyLoss()
    return lambda h, w, y: loss(w, h, y)


def methods():
    found = {name: skloss_method(name) for name in ("naive", "chunked", "triton")}
    for name, make in (("cut-cross-entropy", cce_method), ("liger-kernel", liger_method)):
        try:
            found[name] = make()
        except ImportError as error:
            print(f"{name} skipped: {error}", flush=True)
    return found


def measure(method, h, w, y):
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    h.grad = None
    w.grad = None
    tic = time.perf_counter()
    loss = method(h, w, y)
    loss.backward()
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - tic
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return elapsed, peak, float(loss)


def main():
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    results = []
    for n, d, k in SHAPES:
        torch.manual_seed(0)
        h = (torch.randn(n, d, device="cuda") / d**0.5).to(torch.bfloat16).requires_grad_()
        w = (torch.randn(k, d, device="cuda") / d**0.5).to(torch.bfloat16).requires_grad_()
        y = torch.randint(0, k, (n,), device="cuda")
        for name, method in methods().items():
            try:
                measure(method, h, w, y)
                runs = [measure(method, h, w, y) for _ in range(REPEATS)]
                best = min(runs)
                row = dict(
                    N=n, D=d, K=k, method=name, ms=best[0] * 1e3, peak_mib=best[1], loss=best[2]
                )
            except Exception as error:  # a failing method is a row, not a crash
                row = dict(N=n, D=d, K=k, method=name, error=repr(error)[:300])
            print(row, flush=True)
            results.append(row)
    out = os.environ.get("OUT", ".")
    with open(os.path.join(out, "fused_head_cuda.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = [
        f"Produced by `OUT=docs/benchmarks python benchmarks/fused_head_cuda.py` on one "
        f"{torch.cuda.get_device_name()} (torch {torch.__version__}); bf16 inputs, CE, "
        f"best of {REPEATS}.",
        "",
        "| N | D | K | method | fwd+bwd (ms) | peak (MiB) | loss |",
        "|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['N']} | {r['D']} | {r['K']} | {r['method']} | failed | | |")
        else:
            lines.append(
                f"| {r['N']} | {r['D']} | {r['K']} | {r['method']} | {r['ms']:.1f} "
                f"| {r['peak_mib']:.0f} | {r['loss']:.4f} |"
            )
    with open(os.path.join(out, "fused_head_cuda.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
