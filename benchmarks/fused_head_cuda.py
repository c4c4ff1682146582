"""CUDA check of skloss.fused: forward+backward time and peak memory, bf16, CE.

Run on a machine with a CUDA GPU: ``OUT=docs/benchmarks python benchmarks/fused_head_cuda.py``.
Compares the naive path (materialised logits), the chunked backend and the Triton
kernels at N=8192, D=2304 (the Cut Cross-Entropy paper's shape) for two class counts;
best of 5 after one warm-up; peak is torch's allocator peak above the inputs.
Writes fused_head_cuda.json into $OUT.
"""
import json
import os
import time

import torch

from skloss.fused import linear_loss

dev = "cuda"
print(torch.cuda.get_device_name(), torch.__version__)
res = []
def run(backend, h, w, y, dtype):
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    h.grad = None
    w.grad = None
    t = time.perf_counter()
    loss = linear_loss(h, w, None, y, loss="ce", backend=backend)
    loss.backward()
    torch.cuda.synchronize()
    el = time.perf_counter() - t
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return el, peak, loss.item()
for (N, D, K) in [(8192, 2304, 32768), (8192, 2304, 256000)]:
    torch.manual_seed(0)
    h = (torch.randn(N, D, device=dev) / D**0.5).to(torch.bfloat16).requires_grad_()
    w = (torch.randn(K, D, device=dev) / D**0.5).to(torch.bfloat16).requires_grad_()
    y = torch.randint(0, K, (N,), device=dev)
    for backend in ["naive", "chunked", "triton"]:
        try:
            run(backend, h, w, y, None)
            times = []
            for _ in range(5):
                el, peak, val = run(backend, h, w, y, None)
                times.append(el)
            r = dict(N=N, D=D, K=K, backend=backend, ms=min(times)*1e3, peak_mib=peak, loss=val)
        except Exception as e:
            r = dict(N=N, D=D, K=K, backend=backend, error=repr(e)[:300])
        print(r, flush=True)
        res.append(r)
out = os.environ.get("OUT", ".")
json.dump(res, open(os.path.join(out, "fused_head_cuda.json"), "w"), indent=1)
lines = [
    f"Produced by `OUT=docs/benchmarks python benchmarks/fused_head_cuda.py` on one "
    f"{torch.cuda.get_device_name()} (torch {torch.__version__}); bf16 inputs, CE, best of 5.",
    "",
    "| N | D | K | backend | fwd+bwd (ms) | peak (MiB) |",
    "|---:|---:|---:|---|---:|---:|",
]
for r in res:
    if "error" not in r:
        lines.append(f"| {r['N']} | {r['D']} | {r['K']} | {r['backend']} | {r['ms']:.1f} "
                     f"| {r['peak_mib']:.0f} |")
open(os.path.join(out, "fused_head_cuda.md"), "w").write("\n".join(lines) + "\n")
