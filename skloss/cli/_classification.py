"""Classification in the ``skloss`` jobs: labels, label noise, accuracy, classifier peers."""

import warnings

import numpy as np

from skloss.cli._task import Fold, Task, is_numeric, n_iter

DEFAULT_LOSSES = ("ce", "gce", "mae", "sce", "focal", "comp_sum")
DEFAULT_TOP_K = 2


class ClassificationTask(Task):
    """Class labels: :class:`~skloss.RobustLossClassifier`, label noise, accuracy first."""

    name = "classification"
    targets = "labels"
    noise_kinds = ("symmetric", "pairflip")
    default_noise = 0.4
    # Measured on 2 CPU cores: the demo (digits, 6 losses, 3 folds, the peers) takes
    # well under a minute, and 150 epochs is enough for CE to overfit the noisy
    # labels visibly while the bounded losses (GCE, MAE) stay near their clean accuracy.
    compare_max_iter = 150
    peers = ("LogisticRegression", "HistGradientBoosting", "MLPClassifier")
    metrics = ("accuracy", "noisy_accuracy", "macro_f1", "fit_time", "n_iter")
    # Top-k accuracy: 3 classes or more; ROC AUC: two classes.
    optional_metrics = ("top_k_accuracy", "roc_auc")
    summary_metrics = ("accuracy", "macro_f1", "fit_time", "top_k_accuracy", "roc_auc")
    rank_by = (("accuracy", 1), ("macro_f1", 1))
    selection = ("noisy_accuracy", 1, "accuracy")
    chart = ("accuracy", "accuracy on clean test folds", (0, 1.08))
    monitor = "valid_acc"
    tune_metric = "accuracy"

    def estimator(self, **params):
        from skloss import RobustLossClassifier

        return RobustLossClassifier(**params)

    def table_columns(self, args):
        """``(header, metric)`` of the table's score columns."""
        return [
            ("accuracy", "accuracy"),
            ("macro-F1", "macro_f1"),
            (f"top-{args.top_k} acc", "top_k_accuracy"),
            ("ROC AUC", "roc_auc"),
        ]

    def default_losses(self, y):
        return list(DEFAULT_LOSSES)

    def check_rate(self, args, parser):
        from skloss.noise.injection import check_rate

        try:
            check_rate(args.noise, args.noise_kind)
        except ValueError as error:
            parser.error(f"argument --noise: {error}")

    def check(self, y, args, parser):
        """Return the classes of ``y``, or report labels or options the jobs cannot use."""
        from sklearn.utils.multiclass import type_of_target

        from skloss.losses import get_loss

        if "top_k" in vars(args) and args.top_k is None:  # compare's option; tune has none
            args.top_k = DEFAULT_TOP_K
        self.check_noise(args, parser)
        self.check_losses(args, parser, y)
        if type_of_target(y) == "continuous":
            parser.error(
                "the labels look continuous (non-integer numbers), and this run's task is "
                "classification; pass --task regression to predict the values, or pick a "
                "categorical --target column"
            )
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            parser.error(f"the labels have {len(classes)} class; at least 2 are needed")
        if counts.min() < args.folds:
            rare = classes.tolist()[np.argmin(counts)]
            parser.error(
                f"class {rare!r} has only {counts.min()} sample(s), fewer than --folds "
                f"{args.folds}; every fold needs each class. Lower --folds"
                + (
                    ", or pass --task regression if the target is a quantity"
                    if args.csv is not None and is_numeric(y)
                    else ""
                )
            )
        for name in args.losses:
            reason = get_loss(name).why_cannot_train(len(classes))
            if reason is not None:
                parser.error(
                    f"argument --losses: {name} cannot train on these labels: {reason} "
                    f"Drop {name} from --losses"
                )
        return classes

    def describe(self, classes):
        return f"{len(classes)} classes"

    def settings(self, classes, args):
        top_k = {"top_k": args.top_k} if "top_k" in vars(args) else {}
        return {"classes": classes.tolist(), **top_k}

    def folds(self, X, y, args):
        from skloss.noise import noisy_folds

        for fold in noisy_folds(
            X, y, args.noise, args.noise_kind, cv=args.folds, random_state=args.seed
        ):
            yield Fold(fold.X_train, fold.y_train, fold.X_test, fold.y_test, fold.flipped)

    def noisy_test_targets(self, y_test, args, fold):
        from skloss.noise import make_noisy_labels

        if args.noise == 0:
            return y_test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a rate past the informative limit warns once
            # Seeds apart from the training folds' (seed + fold): other draws of the noise.
            noisy, _ = make_noisy_labels(
                y_test,
                args.noise,
                args.noise_kind,
                random_state=(args.seed + 7919 * (fold + 1)) % 2**32,
            )
        return noisy

    def score(self, model, fold, y_test_noisy, args):
        from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, top_k_accuracy_score

        predicted = model.predict(fold.X_test)
        record = {
            "accuracy": float(accuracy_score(fold.y_test, predicted)),
            "noisy_accuracy": float(accuracy_score(y_test_noisy, predicted)),
            "macro_f1": float(f1_score(fold.y_test, predicted, average="macro")),
            "n_iter": n_iter(model[-1]),
        }
        classes = model[-1].classes_
        # Top-k accuracy says something only where k is below the class count, and with
        # two classes top-1 is all there is.
        with_top_k = len(classes) >= 3 and args.top_k < len(classes)
        if with_top_k or len(classes) == 2:
            proba = model.predict_proba(fold.X_test)
        if with_top_k:
            record["top_k_accuracy"] = float(
                top_k_accuracy_score(fold.y_test, proba, k=args.top_k, labels=classes)
            )
        if len(classes) == 2:
            record["roc_auc"] = float(roc_auc_score(fold.y_test == classes[1], proba[:, 1]))
        return record

    def progress(self, record):
        return f"accuracy {record['accuracy']:.3f}  macro-F1 {record['macro_f1']:.3f}"

    def peer(self, name, args):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier

        if name == "LogisticRegression":
            return LogisticRegression(max_iter=1000)
        if name == "HistGradientBoosting":
            return HistGradientBoostingClassifier(random_state=args.seed)
        return MLPClassifier(
            hidden_layer_sizes=args.hidden,
            max_iter=args.max_iter,
            batch_size=args.batch_size,
            early_stopping=True,
            random_state=args.seed,
        )

    def describe_peers(self):
        return {
            "LogisticRegression": "LogisticRegression(max_iter=1000)",
            "HistGradientBoosting": "HistGradientBoostingClassifier(random_state=seed), defaults",
            "MLPClassifier": "MLPClassifier(early_stopping=True) with the --hidden, --max-iter, "
            "--batch-size and --seed of the skloss rows",
        }

    protocol = (
        "stratified K-fold; label noise injected into the training fold only "
        "(skloss.noise.noisy_folds: make_noisy_labels, random_state=seed + fold); "
        "scores on the clean test fold"
    )
    selection_rule = (
        "per fold: the model (loss or peer) with the best mean accuracy on the noisy "
        "test labels of the other folds; scored on this fold's clean labels"
    )

    # ---- skloss tune ---------------------------------------------------------------------
    def split(self, X, y, args):
        """``(X_train, X_test, y_noisy, y_test)``: stratified, noise on the training part only."""
        from sklearn.model_selection import train_test_split

        from skloss.noise import make_noisy_labels

        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=args.test_size, stratify=y, random_state=args.seed
        )
        if args.noise > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y_train, _ = make_noisy_labels(
                    y_train, args.noise, args.noise_kind, random_state=args.seed
                )
        return X_train, X_test, y_train, y_test

    def cv(self, args):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)

    def scoring(self, args):
        return None  # the classifier's score: accuracy

    def cv_score(self, trial_value):
        return trial_value

    def test_scores(self, y_test, predicted):
        from sklearn.metrics import accuracy_score

        return {"accuracy": float(accuracy_score(y_test, predicted))}

    tune_protocol = (
        "stratified train/test split; label noise on the training labels only; "
        "trials scored by stratified K-fold CV accuracy on the noisy training "
        "labels, pruned by the median rule on each fit's early-stopping validation "
        "accuracy; the selected configuration (and each loss's best) refitted on "
        "the noisy training labels and scored once on the clean test labels"
    )


CLASSIFICATION = ClassificationTask()
