"""The models the jobs train: one preprocessing, skloss estimators, and their peers.

Every model is a Pipeline whose first step is the same preprocessing, fitted inside
each training fold (so no fold sees another's statistics): numeric columns imputed
(``--impute``) and standardised, text columns imputed with their most frequent
value and one-hot encoded.
"""

from collections import namedtuple

#: A row of ``skloss compare``: its name, whether it is a scikit-learn peer, and how
#: to build a fresh pipeline.
Candidate = namedtuple("Candidate", "name peer build")


def preprocessing(data, impute):
    """The preprocessing step for ``data`` (a :data:`skloss.cli._data.Data`)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [StandardScaler()]
    if impute is not None:
        numeric.insert(0, SimpleImputer(strategy=impute))
    if not data.categorical:
        return make_pipeline(*numeric)
    text = [OneHotEncoder(handle_unknown="ignore", sparse_output=False)]
    if impute is not None:
        text.insert(0, SimpleImputer(strategy="most_frequent"))
    numeric_columns = [c for c in data.X.columns if str(c) not in data.categorical]
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(*numeric), numeric_columns),
            ("text", make_pipeline(*text), list(data.categorical)),
        ]
    )


def skloss_pipeline(data, args, task, **params):
    """Preprocessing + the task's skloss estimator with ``params``."""
    from sklearn.pipeline import make_pipeline

    return make_pipeline(preprocessing(data, args.impute), task.estimator(**params))


#: Losses corrected by a transition matrix: ``skloss compare`` trains them through
#: :class:`skloss.noise.LossCorrectionClassifier`, which estimates ``T`` on the
#: training fold (a bare ``loss="forward"`` would be plain cross-entropy, ``T = I``).
CORRECTED_LOSSES = ("forward", "backward")


def transition_model(args):
    """``--transition-estimator``'s model, for data already preprocessed."""
    if getattr(args, "transition_estimator", None) == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(early_stopping=True, random_state=args.seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def skloss_model(data, args, task, loss):
    """Preprocessing + the task's skloss estimator training ``loss`` with the job's settings."""
    from sklearn.pipeline import make_pipeline

    params = {
        "hidden_layer_sizes": args.hidden,
        "max_iter": args.max_iter,
        "batch_size": args.batch_size,
        "random_state": args.seed,
    }
    if loss not in CORRECTED_LOSSES:
        return skloss_pipeline(data, args, task, loss=loss, **params)
    from skloss.noise import LossCorrectionClassifier

    corrected = LossCorrectionClassifier(
        task.estimator(**params),
        correction=loss,
        transition_estimator=transition_model(args),
        random_state=args.seed,
        refine_transition=args.refine_transition,
    )
    return make_pipeline(preprocessing(data, args.impute), corrected)


def candidates(data, args, task):
    """The rows of ``skloss compare``: one per loss, then the peers (unless ``--no-baselines``)."""
    from sklearn.pipeline import make_pipeline

    rows = [
        Candidate(loss, False, lambda loss=loss: skloss_model(data, args, task, loss))
        for loss in args.losses
    ]
    if args.baselines:
        rows += [
            Candidate(
                name,
                True,
                lambda name=name: make_pipeline(
                    preprocessing(data, args.impute), task.peer(name, args)
                ),
            )
            for name in task.peers
        ]
    return rows
