"""Regression in the ``skloss`` jobs: real targets, gross errors, RMSE first, regressor peers.

The noise replaces a share of the training targets by gross errors
(:func:`skloss.noise.make_noisy_targets`); models are scored on the clean test
targets. Choosing without clean targets (the noise-aware selection of
``skloss compare``, the trials of ``skloss tune``) uses the RMSE on noisy
targets without the largest ``--noise`` share of absolute residuals
(:func:`trimmed_rmse`): a gross error in a held-out target is a residual no model
can shrink, and one such error can outweigh every difference between models.
"""

import numpy as np

from skloss.cli._task import Fold, Task, n_iter

BASE_LOSSES = ("squared_error", "absolute_error", "huber", "hl_gauss")


def trimmed_rmse(y_true, y_pred, share=0.0):
    """The RMSE without the ``share`` of largest absolute residuals (rounded half up).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Targets and predictions.
    share : float, default=0.0
        The share of residuals left out, in [0, 1); 0 gives the RMSE.

    Returns
    -------
    float
    """
    residuals = np.sort(np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float)))
    n_left_out = int(np.floor(share * len(residuals) + 0.5))
    kept = residuals[: max(len(residuals) - n_left_out, 1)]
    return float(np.sqrt(np.mean(kept**2)))


def _is_counts(y):
    return bool(y.min() >= 0 and np.all(y == np.round(y)))


class RegressionTask(Task):
    """Real-valued targets: :class:`~skloss.RobustLossRegressor`, gross errors, RMSE first."""

    name = "regression"
    targets = "targets"
    noise_kinds = ("outliers", "shuffle")
    default_noise = 0.2
    # diabetes (442 rows, 256-256 network, batch 128): 50 epochs fit each loss in well
    # under a second, and longer runs only overfit its 300 training rows.
    compare_max_iter = 50
    peers = ("Ridge", "HistGradientBoosting", "HistGradientBoosting-absolute", "MLPRegressor")
    metrics = ("rmse", "mae", "r2", "noisy_rmse", "fit_time", "n_iter")
    optional_metrics = ()
    summary_metrics = ("rmse", "mae", "r2", "fit_time")
    rank_by = (("rmse", -1), ("mae", -1))
    selection = ("noisy_rmse", -1, "rmse")
    chart = ("rmse", "RMSE on clean test folds (lower is better)", None)
    monitor = "valid_r2"
    tune_metric = "rmse"

    def estimator(self, **params):
        from skloss import RobustLossRegressor

        return RobustLossRegressor(**params)

    def table_columns(self, args):
        return [("RMSE", "rmse"), ("MAE", "mae"), ("R^2", "r2")]

    def default_losses(self, y):
        """The base losses, and ``poisson`` for non-negative counts."""
        return list(BASE_LOSSES) + (["poisson"] if _is_counts(y) else [])

    def check_rate(self, args, parser):
        if not 0 <= args.noise < 1:
            parser.error(
                f"argument --noise: rate must be in [0, 1) for kind={args.noise_kind!r}, "
                f"got {args.noise!r}"
            )

    def check(self, y, args, parser):
        """Return a summary of the targets, or report targets or options the jobs cannot use."""
        from skloss.losses import get_loss

        if getattr(args, "top_k", None) is not None:
            parser.error(
                "argument --top-k: top-k accuracy is a classification score, and this run's "
                "task is regression; leave out --top-k"
            )
        y = np.asarray(y, dtype=float)
        self.check_noise(args, parser)
        self.check_losses(args, parser, y)
        if not np.isfinite(y).all():
            parser.error(
                f"the targets hold {int((~np.isfinite(y)).sum())} infinite value(s); replace "
                "or drop those rows first"
            )
        if np.ptp(y) == 0:
            parser.error(f"every target is {float(y[0]):g}: there is nothing to predict")
        if len(y) < 2 * args.folds:
            parser.error(
                f"{len(y)} samples are too few for --folds {args.folds}: every training and "
                "test fold needs at least 2 rows. Lower --folds"
            )
        for name in args.losses:
            try:
                get_loss(name).check_targets(y.reshape(-1, 1))
            except ValueError as error:
                parser.error(f"argument --losses: {error}")
        return {
            "n_distinct": int(len(np.unique(y))),
            "min": float(y.min()),
            "max": float(y.max()),
            "mean": float(y.mean()),
            "std": float(y.std()),
            "counts": _is_counts(y),
        }

    def describe(self, summary):
        return f"targets in [{summary['min']:.4g}, {summary['max']:.4g}]"

    def settings(self, summary, args):
        return {"targets": summary}

    def folds(self, X, y, args):
        from sklearn.model_selection import KFold
        from sklearn.utils import _safe_indexing

        from skloss.noise import make_noisy_targets

        splits = KFold(args.folds, shuffle=True, random_state=args.seed).split(np.zeros(len(y)))
        for k, (train, test) in enumerate(splits):
            y_train, corrupted = make_noisy_targets(
                y[train], args.noise, args.noise_kind, random_state=args.seed + k
            )
            X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
            yield Fold(X_train, y_train, X_test, y[test], corrupted)

    def noisy_test_targets(self, y_test, args, fold):
        from skloss.noise import make_noisy_targets

        if args.noise == 0:
            return y_test
        # Seeds apart from the training folds' (seed + fold): other draws of the noise.
        seed = (args.seed + 7919 * (fold + 1)) % 2**32
        noisy, _ = make_noisy_targets(y_test, args.noise, args.noise_kind, random_state=seed)
        return noisy

    def score(self, model, fold, y_test_noisy, args):
        from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

        predicted = model.predict(fold.X_test)
        return {
            "rmse": float(root_mean_squared_error(fold.y_test, predicted)),
            "mae": float(mean_absolute_error(fold.y_test, predicted)),
            "r2": float(r2_score(fold.y_test, predicted)),
            "noisy_rmse": trimmed_rmse(y_test_noisy, predicted, args.noise),
            "n_iter": n_iter(model[-1]),
        }

    def progress(self, record):
        return f"RMSE {record['rmse']:.4g}  MAE {record['mae']:.4g}  R^2 {record['r2']:.3f}"

    def peer(self, name, args):
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.linear_model import Ridge
        from sklearn.neural_network import MLPRegressor
        from sklearn.preprocessing import StandardScaler

        if name == "Ridge":
            return Ridge()
        if name == "HistGradientBoosting":
            return HistGradientBoostingRegressor(random_state=args.seed)
        if name == "HistGradientBoosting-absolute":
            return HistGradientBoostingRegressor(loss="absolute_error", random_state=args.seed)
        # Targets standardised as the skloss rows standardise theirs: MLPRegressor
        # fits raw targets, and far from zero (diabetes: 25 to 346) it spends its
        # epochs reaching their mean.
        return TransformedTargetRegressor(
            MLPRegressor(
                hidden_layer_sizes=args.hidden,
                max_iter=args.max_iter,
                batch_size=args.batch_size,
                early_stopping=True,
                random_state=args.seed,
            ),
            transformer=StandardScaler(),
        )

    def describe_peers(self):
        return {
            "Ridge": "Ridge(), defaults",
            "HistGradientBoosting": "HistGradientBoostingRegressor(random_state=seed), defaults "
            "(squared error)",
            "HistGradientBoosting-absolute": "HistGradientBoostingRegressor("
            "loss='absolute_error', random_state=seed)",
            "MLPRegressor": "TransformedTargetRegressor(MLPRegressor(early_stopping=True), "
            "transformer=StandardScaler()) with the --hidden, --max-iter, --batch-size and "
            "--seed of the skloss rows (targets standardised, as the skloss rows do inside)",
        }

    protocol = (
        "shuffled K-fold; gross errors injected into the training fold's targets only "
        "(skloss.noise.make_noisy_targets, random_state=seed + fold); scores on the clean "
        "test fold"
    )
    selection_rule = (
        "per fold: the model (loss or peer) with the lowest mean trimmed RMSE on the noisy "
        "test targets of the other folds (the largest --noise share of absolute residuals "
        "left out); scored by RMSE on this fold's clean targets"
    )

    # ---- skloss tune ---------------------------------------------------------------------
    def split(self, X, y, args):
        """``(X_train, X_test, y_noisy, y_test)``: shuffled, noise on the training part only."""
        from sklearn.model_selection import train_test_split

        from skloss.noise import make_noisy_targets

        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=args.test_size, random_state=args.seed
        )
        y_train, _ = make_noisy_targets(
            y_train, args.noise, args.noise_kind, random_state=args.seed
        )
        return X_train, X_test, y_train, y_test

    def cv(self, args):
        from sklearn.model_selection import KFold

        return KFold(args.folds, shuffle=True, random_state=args.seed)

    def scoring(self, args):
        """Minus the trimmed RMSE (scikit-learn's ``neg_`` convention: maximised)."""
        from sklearn.metrics import make_scorer

        return make_scorer(trimmed_rmse, greater_is_better=False, share=args.noise)

    def cv_score(self, trial_value):
        return -trial_value

    def test_scores(self, y_test, predicted):
        from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

        return {
            "rmse": float(root_mean_squared_error(y_test, predicted)),
            "mae": float(mean_absolute_error(y_test, predicted)),
            "r2": float(r2_score(y_test, predicted)),
        }

    tune_protocol = (
        "shuffled train/test split; gross errors on the training targets only; trials "
        "scored by shuffled K-fold CV on the noisy training targets, as the trimmed RMSE "
        "(the largest --noise share of absolute residuals left out; the study maximises "
        "its negative), pruned by the median rule on each fit's early-stopping validation "
        "R^2; the selected configuration (and each loss's best) refitted on the noisy "
        "training targets and scored once on the clean test targets (RMSE, MAE, R^2)"
    )


REGRESSION = RegressionTask()
