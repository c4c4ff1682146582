"""Where ``import skloss`` and the first fit in a process spend their time.

Each measurement runs in a fresh Python process (``--repeats`` times, the median
kept): importing torch, scikit-learn, skorch and skloss each on its own; then, in
one process, ``import skloss``, a first small fit and a second one. ``python -X
importtime`` splits ``import skloss`` into the modules' own times, summed by
package, which shows what is skloss's own.

Run::

    flock /tmp/skloss-bench.lock env OMP_NUM_THREADS=1 python benchmarks/import_time.py

It prints the table and writes ``docs/benchmarks/import_time.{json,md}``.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "import_time"

FIT = """
import time, warnings
t0 = time.perf_counter()
import numpy as np
from skloss import RobustLossClassifier
t1 = time.perf_counter()
warnings.simplefilter("ignore")
X = np.random.default_rng(0).normal(size=(200, 5)); y = (X[:, 0] > 0).astype(int)
RobustLossClassifier(max_iter=2).fit(X, y)
t2 = time.perf_counter()
RobustLossClassifier(max_iter=2).fit(X, y)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def seconds(code):
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.split()[-1])


def first_fit():
    out = subprocess.run([sys.executable, "-c", FIT], capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.split()[-3:]]


def self_times_by_package():
    """Own import time (s) of each top-level package under ``import skloss``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import skloss"],
        capture_output=True,
        text=True,
        check=True,
    )
    totals = {}
    for line in out.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            totals[package] = totals.get(package, 0) + int(match.group(1)) / 1e6
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()
    imports = {
        name: statistics.median(seconds(f"import {name}") for _ in range(args.repeats))
        for name in ("torch", "sklearn", "skorch", "skloss")
    }
    fits = [first_fit() for _ in range(args.repeats)]
    fit = {
        key: statistics.median(run[i] for run in fits)
        for i, key in enumerate(("import skloss", "first fit", "second fit"))
    }
    own = [self_times_by_package() for _ in range(args.repeats)]
    packages = sorted({p for run in own for p in run})
    by_package = {p: statistics.median(run.get(p, 0.0) for run in own) for p in packages}
    top = sorted(by_package.items(), key=lambda kv: -kv[1])[:8]
    command = "python benchmarks/import_time.py " + " ".join(sys.argv[1:])
    lines = [
        f"`{command}` (medians of {args.repeats} fresh processes)",
        "",
        "| import alone | seconds |",
        "|---|---:|",
        *[f"| `import {name}` | {value:.2f} |" for name, value in imports.items()],
        "",
        "| in one process | seconds |",
        "|---|---:|",
        *[f"| {name} | {value:.2f} |" for name, value in fit.items()],
        "",
        "Own import time of each package under `import skloss` (`python -X importtime`, "
        "module self times summed; the largest):",
        "",
        "| package | seconds |",
        "|---|---:|",
        *[f"| {name} | {value:.2f} |" for name, value in top],
        f"| skloss (its own modules) | {by_package.get('skloss', 0.0):.3f} |",
        "",
    ]
    report = "\n".join(lines)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".md").write_text(report)
    output.with_suffix(".json").write_text(
        json.dumps(
            {"command": command, "imports": imports, "fit": fit, "own": by_package}, indent=1
        )
    )
    print(report)


if __name__ == "__main__":
    main()
