"""Time and peak memory of fused linear + cross-entropy heads on the CPU.

For ``N`` rows of ``D`` features and ``K`` classes (float32, no bias), one
forward + backward pass of ``cross_entropy(h @ W.T, y)`` with respect to ``h``
and ``W`` is measured for:

- ``matmul floor``: the three bare products ``z = h W^T``, ``dz W``, ``dz^T h``
  (``6 N D K`` FLOPs, the least an exact method computes; a method that
  recomputes the logits in its backward pass needs ``8 N D K``);
- ``naive``: materialised logits, ``F.cross_entropy``;
- ``skloss chunked``: ``skloss.fused.linear_loss(backend="chunked")`` at its
  default block budget;
- ``torch linear_cross_entropy``: ``F.linear_cross_entropy`` with
  ``LinearCrossEntropyOptions()`` (its chunked path), when the installed torch
  has it;
- ``cce torch_compile``: cut-cross-entropy's ``impl="torch_compile"``, when the
  package is installed (its Triton ``cce`` impl needs a GPU).

Every (method, K) runs in a fresh subprocess with ``MALLOC_MMAP_THRESHOLD_`` set
so that freed buffers go back to the OS. Memory is the peak resident set size
during the timed pass minus the resident size just before it (inputs and weights
allocated, peak reset through ``/proc/self/clear_refs``): the loss's working
memory *including* the ``h`` and ``W`` gradients, which every method produces
(the table also shows it without them). One-off costs (``torch.compile``, the
first call) are paid in a small warm-up call first. Linux only.

Run ``python benchmarks/fused_head.py`` (about 5 minutes on 2 cores) to write
``docs/benchmarks/fused_head.json`` and ``.md``; ``--quick`` runs small shapes
as a smoke test and writes nothing unless ``--out`` is given.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks" / "fused_head.json"
METHODS = [
    "matmul floor",
    "naive",
    "skloss chunked",
    "torch linear_cross_entropy",
    "cce torch_compile",
]


# ---- the worker: one method, one shape, in its own process ---------------------------------


def _memory_mib():
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def _reset_peak():
    # Writing 5 resets VmHWM to the current RSS (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _method(name):
    import torch
    import torch.nn.functional as F

    if name == "matmul floor":

        def run(h, w, y):
            z = h.detach() @ w.detach().T
            h.grad = z @ w.detach()
            w.grad = z.T @ h.detach()
    elif name == "naive":

        def run(h, w, y):
            F.cross_entropy(h @ w.T, y).backward()
    elif name == "skloss chunked":
        from skloss.fused import linear_loss

        def run(h, w, y):
            linear_loss(h, w, None, y, backend="chunked").backward()
    elif name == "torch linear_cross_entropy":
        if not hasattr(F, "linear_cross_entropy"):
            raise ImportError(f"torch {torch.__version__} has no F.linear_cross_entropy")
        options = torch.nn.LinearCrossEntropyOptions()

        def run(h, w, y):
            F.linear_cross_entropy(h, w, y, options=options).backward()
    elif name == "cce torch_compile":
        from cut_cross_entropy import linear_cross_entropy

        def run(h, w, y):
            linear_cross_entropy(h, w, y, impl="torch_compile").backward()
    else:
        raise ValueError(f"unknown method {name!r}")
    return run


def worker(args):
    import torch

    torch.set_num_threads(args.threads)
    result = {"method": args.method, "n": args.n, "d": args.d, "k": args.k}
    try:
        run = _method(args.method)
    except ImportError as error:
        result["skipped"] = str(error)
        print(json.dumps(result))
        return
    g = torch.Generator().manual_seed(0)
    # Warm-up at a small shape: compilation and first-call costs, not measured.
    small = [
        torch.randn(256, args.d, generator=g).requires_grad_(),
        (torch.randn(min(args.k, 2048), args.d, generator=g) * 0.02).requires_grad_(),
    ]
    run(*small, torch.randint(0, small[1].shape[0], (256,), generator=g))
    del small
    h = torch.randn(args.n, args.d, generator=g).requires_grad_()
    w = (torch.randn(args.k, args.d, generator=g) / args.d**0.5).requires_grad_()
    y = torch.randint(0, args.k, (args.n,), generator=g)
    times, peaks = [], []
    for _ in range(args.repeats):
        h.grad = w.grad = None
        before = _memory_mib()["VmRSS"]
        _reset_peak()
        start = time.perf_counter()
        run(h, w, y)
        times.append(time.perf_counter() - start)
        peaks.append(_memory_mib()["VmHWM"] - before)
    result.update(
        times_s=times,
        time_s=min(times),
        peak_delta_mib=max(peaks),
        grads_mib=(args.n + args.k) * args.d * 4 / 2**20,
    )
    print(json.dumps(result))


# ---- the driver ----------------------------------------------------------------------------


def measure(method, n, d, k, threads, repeats, timeout):
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": str(threads)}
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--method",
        method,
        "--n",
        str(n),
        "--d",
        str(d),
        "--k",
        str(k),
        "--threads",
        str(threads),
        "--repeats",
        str(repeats),
    ]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"method": method, "n": n, "d": d, "k": k, "skipped": f"timeout {timeout}s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {
            "method": method,
            "n": n,
            "d": d,
            "k": k,
            "skipped": f"failed (rc={done.returncode}): " + " | ".join(tail),
        }
    return json.loads(lines[-1])


def markdown(report):
    setup = report["setup"]
    lines = [
        "# Fused linear + cross-entropy head: CPU",
        "",
        f"N = {setup['n']}, D = {setup['d']}, float32, no bias, {setup['threads']} threads, "
        f"{setup['cpu']}, torch {setup['torch']}. One forward + backward pass (gradients of "
        "h and W); time is the best of the repeats; peak is the resident-memory peak above "
        "inputs and weights, gradients included (and without them).",
        "",
        "| K | method | time (s) | x naive | x matmul floor | peak (MiB) | peak w/o grads (MiB)"
        " | peak / naive |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for k in setup["classes"]:
        rows = {r["method"]: r for r in report["results"] if r["k"] == k}
        naive = rows.get("naive", {})
        floor = rows.get("matmul floor", {})
        for method in setup["methods"]:
            r = rows.get(method)
            if r is None:
                continue
            if "skipped" in r:
                lines.append(f"| {k} | {method} | skipped: {r['skipped']} | | | | | |")
                continue
            ratio = r["time_s"] / naive["time_s"] if "time_s" in naive else float("nan")
            to_floor = r["time_s"] / floor["time_s"] if "time_s" in floor else float("nan")
            if method == "matmul floor":
                peak = without = share = "-"
            else:
                peak = f"{r['peak_delta_mib']:.0f}"
                without = f"{max(0.0, r['peak_delta_mib'] - r['grads_mib']):.0f}"
                share = (
                    f"{r['peak_delta_mib'] / naive['peak_delta_mib']:.1%}"
                    if "peak_delta_mib" in naive
                    else "-"
                )
            lines.append(
                f"| {k} | {method} | {r['time_s']:.2f} | {ratio:.2f} | "
                f"{to_floor:.2f} | {peak} | {without} | {share} |"
            )
    lines += [
        "",
        "The matmul floor is 6 N D K FLOPs (an exact method); a method that recomputes the "
        "logits in its backward pass, as skloss's chunked backend does, needs 8 N D K, i.e. "
        "1.33x the floor before any softmax work.",
        "",
        "## CUDA (bfloat16, against cut-cross-entropy and Liger-Kernel)",
        "",
        "Not measured: no GPU in this session. Published anchors (A100, N = 8192, "
        "D = 2304, K = 256000, from the Cut Cross-Entropy paper): CCE 1164 MB / 135 ms, "
        "Liger 1474 MB / 303 ms, torch.compile 16000 MB / 143 ms, naive 28000 MB / 207 ms.",
        "",
    ]
    if report.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in report["notes"]] + [""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--method", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=8192)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument(
        "--classes", default="8192,32768,131072", help="comma-separated class counts K"
    )
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed passes per run; default 2 below K = 32768, else 1",
    )
    parser.add_argument("--timeout", type=int, default=900, help="seconds per subprocess")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small shapes (N=1024, D=128, K=2048,8192), nothing written",
    )
    parser.add_argument("--out", default=None, help=f"JSON output (default {OUT})")
    args = parser.parse_args(argv)
    if args.worker:
        args.repeats = args.repeats or 1
        worker(args)
        return
    if args.quick:
        args.n, args.d, args.classes = 1024, 128, "2048,8192"
    classes = [int(k) for k in args.classes.split(",")]
    methods = [m.strip() for m in args.methods.split(",")]
    import torch

    report = {
        "setup": {
            "n": args.n,
            "d": args.d,
            "classes": classes,
            "methods": methods,
            "threads": args.threads,
            "dtype": "float32",
            "bias": False,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu": _cpu_name(),
            "device": "cpu",
        },
        "results": [],
        "notes": [],
    }
    started = time.perf_counter()
    for k in classes:
        repeats = args.repeats or (2 if k < 32768 else 1)
        for method in methods:
            result = measure(method, args.n, args.d, k, args.threads, repeats, args.timeout)
            report["results"].append(result)
            shown = result.get("skipped") or (
                f"{result['time_s']:.2f} s, peak {result['peak_delta_mib']:.0f} MiB"
            )
            print(f"K={k:>7} {method:<28} {shown}", flush=True)
    report["setup"]["wall_s"] = round(time.perf_counter() - started, 1)
    text = markdown(report)
    print(text)
    out = args.out or (None if args.quick else OUT)
    if out:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        out.with_suffix(".md").write_text(text)
        print(f"wrote {out} and {out.with_suffix('.md')}")


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
