"""A long LDR-KL fit on noisy labels: does it stay finite, and where do its logits go?

Issue 18 reports ``ldr_kl`` (softplus transform) turning NaN at epoch 117 of 150
on a 10-class table. The protocol reproduced here: a stratified 70/30 split,
features standardised on the training part, 30% pair-flip noise on the training
labels, ``RobustLossClassifier(loss="ldr_kl", hidden_layer_sizes=(256, 256))``
with Adam at 1e-3 (the defaults) for 150 epochs (the stopping rule switched off
with ``n_iter_no_change=150``), ``--seeds`` seeds. After every epoch a stock
skorch callback records, on the training rows, the median and the lowest of each
row's largest logit, and the share of rows whose every logit is below -20: the
regime where ``softplus(z) ~ e^z`` and the transform becomes ``K softmax(z)``,
where the loss is lower than at the same logits unshifted. The old transform's
value was NaN for a row whose every logit is below about -100 (float32).

Run (a few minutes per seed on one core)::

    python benchmarks/ldr_kl_long_fit.py

It prints the table and writes ``docs/benchmarks/ldr_kl_long_fit.{json,md}``. The
same script runs an older checkout with ``PYTHONPATH=/path/to/checkout``; a fit
that stops with an error (a non-finite loss) is reported as such.
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import load  # noqa: E402

import skloss  # noqa: E402
from skloss import RobustLossClassifier  # noqa: E402
from skloss.noise import make_noisy_labels  # noqa: E402

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "ldr_kl_long_fit"

#: Epochs at which the table shows the logit statistics.
SHOWN_EPOCHS = (1, 10, 50, 100, 150)

#: Below this logit every softplus is ``e^z`` to float32 rounding relative to 1.
NEGATIVE_REGIME = -20.0


class LogitDrift(Callback):
    """Records, after each epoch, where the training rows' logits lie."""

    def __init__(self, X):
        self.X = X

    def initialize(self):
        self.records = []
        return self

    def on_epoch_end(self, net, **kwargs):
        module = net.module_
        was_training = module.training
        module.eval()
        with torch.no_grad():
            logits = module(torch.as_tensor(self.X, dtype=torch.float32))
        module.train(was_training)
        largest = logits.max(dim=1).values
        self.records.append(
            {
                "epoch": len(net.history),
                "train_loss": float(net.history[-1, "train_loss"]),
                "median_max_logit": float(largest.median()),
                "lowest_max_logit": float(largest.min()),
                "negative_share": float((largest < NEGATIVE_REGIME).float().mean()),
                "finite_logits": bool(torch.isfinite(logits).all()),
            }
        )


def run_seed(dataset, seed, epochs, noise):
    """One fit of ``ldr_kl`` with its per-epoch logit records."""
    X, y = load(dataset)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    y_noisy, _ = make_noisy_labels(y_tr, noise, kind="pairflip", random_state=seed)
    drift = LogitDrift(X_tr)
    clf = RobustLossClassifier(
        loss="ldr_kl",
        hidden_layer_sizes=(256, 256),
        max_iter=epochs,
        # Every epoch runs: the stopping rule would end some fits early, and the
        # question is what a long fit does.
        n_iter_no_change=epochs,
        random_state=seed,
        callbacks=[("drift", drift)],
    )
    start = time.perf_counter()
    error = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            clf.fit(X_tr, y_noisy)
        except (ValueError, FloatingPointError, RuntimeError) as caught:
            error = f"{type(caught).__name__}: {caught}"
    seconds = time.perf_counter() - start
    # The estimator deep-copies its callbacks: the net holds the one that ran.
    ran = dict(clf.net_.callbacks_)["drift"] if hasattr(clf, "net_") else drift
    records = getattr(ran, "records", [])
    result = {
        "dataset": dataset,
        "seed": seed,
        "epochs_completed": len(records),
        "error": error,
        "fit_seconds": round(seconds, 1),
        "per_epoch": records,
    }
    if error is None:
        result["test_accuracy"] = float(clf.score(X_te, y_te))
        result["train_clean_accuracy"] = float(clf.score(X_tr, y_tr))
    return result


def report(results, settings, command):
    """The Markdown tables: logit statistics at a few epochs, then each fit's outcome."""
    datasets = ", ".join(settings["datasets"])
    lines = [
        f"Command: `{command}`",
        "",
        f"{datasets}: 70/30 split, standardised, {settings['noise']:.0%} pair-flip noise on "
        "the training labels, `ldr_kl` defaults, (256, 256), Adam 1e-3, "
        f"{settings['epochs']} epochs (no early stop). "
        "The largest logit of each training row (its median and its lowest value over the "
        "rows), and the share of training rows whose every logit is below "
        f"{NEGATIVE_REGIME:g}, after the epoch. The old transform's value was NaN for a "
        "row whose every logit is below about -100 (float32).",
        "",
        "| data | seed | epoch | train loss | median max logit | lowest max logit "
        "| rows all < -20 |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        head = f"| {result['dataset']} | {result['seed']} |"
        for record in result["per_epoch"]:
            if record["epoch"] in SHOWN_EPOCHS or record is result["per_epoch"][-1]:
                lines.append(
                    f"{head} {record['epoch']} | {record['train_loss']:.4f} | "
                    f"{record['median_max_logit']:.1f} | {record['lowest_max_logit']:.1f} | "
                    f"{record['negative_share']:.1%} |"
                )
    lines += [
        "",
        "| data | seed | epochs completed | outcome | clean test acc. | clean train acc. |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        outcome = result["error"] or "finite throughout"
        test = result.get("test_accuracy")
        train = result.get("train_clean_accuracy")
        scores = f"{test:.3f} | {train:.3f} |" if test is not None else "- | - |"
        lines.append(
            f"| {result['dataset']} | {result['seed']} | {result['epochs_completed']} | "
            f"{outcome} | {scores}"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["penbased", "optdigits", "digits"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--output", default=str(OUTPUT), help="path without extension")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/ldr_kl_long_fit.py " + shlex.join(argv or sys.argv[1:])
    settings = {
        "datasets": args.datasets,
        "epochs": args.epochs,
        "noise": args.noise,
        "seeds": args.seeds,
        "skloss": str(Path(skloss.__file__).resolve().parent.parent),
    }
    results = [
        run_seed(dataset, seed, args.epochs, args.noise)
        for dataset in args.datasets
        for seed in range(args.seeds)
    ]
    table = report(results, settings, command.strip())
    print(table)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(
        json.dumps({"command": command.strip(), "settings": settings, "results": results}, indent=1)
    )
    output.with_suffix(".md").write_text(table)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
