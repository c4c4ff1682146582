"""``OptunaSearchCV`` with guards against two pitfalls of its pruning mode."""

import numpy as np

try:
    from optuna_integration import OptunaSearchCV as _BaseSearch
except ImportError:  # the tune extra is not installed
    _BaseSearch = None


def _random_state_object(cv):
    return isinstance(getattr(cv, "random_state", None), np.random.RandomState)


def _check_pruned_search(search, X, fit_params):
    sized = sorted(
        name
        for name, value in fit_params.items()
        if hasattr(value, "__len__") and not isinstance(value, str) and len(value) == len(X)
    )
    if sized:
        raise ValueError(
            f"OptunaSearchCV(enable_pruning=True) passes fit parameters {sized} to "
            "partial_fit unsliced, on every fold (optuna-integration #315): the weights "
            "would not match the fold's rows. Use class_weight on the estimator, or "
            "enable_pruning=False (then they are sliced by fold)."
        )
    if _random_state_object(search.cv):
        raise ValueError(
            f"cv={search.cv!r} is seeded with a RandomState object: with enable_pruning=True "
            "OptunaSearchCV calls cv.split once per epoch, and each call would draw other "
            "folds (optuna-integration #317). Seed the splitter with an int, e.g. "
            "KFold(5, shuffle=True, random_state=0)."
        )


if _BaseSearch is not None:

    class OptunaSearchCV(_BaseSearch):
        """``optuna_integration.OptunaSearchCV`` with guards for skloss users.

        Same parameters and attributes as :class:`optuna_integration.OptunaSearchCV`
        (use :func:`param_distributions` for ``param_distributions``). ``fit``
        refuses, with a ``ValueError`` before any trial, two set-ups that go silently
        wrong with ``enable_pruning=True``, where the search trains by ``partial_fit``:

        - per-sample fit parameters such as ``sample_weight``, which are passed to
          ``partial_fit`` unsliced, on every fold (optuna-integration #315): every
          fit would fail on the length mismatch and score ``error_score`` (NaN);
        - a ``cv`` splitter seeded with a ``RandomState`` object, which draws other
          folds on each of the ``max_iter`` calls to ``split`` (#317).

        Parameters
        ----------
        estimator : estimator
            As in ``optuna_integration.OptunaSearchCV``; every other parameter too.
        param_distributions : dict
            Parameter name -> Optuna distribution (:func:`param_distributions`).
        **kwargs
            The other parameters of ``optuna_integration.OptunaSearchCV``.
        """

        def fit(self, X, y=None, groups=None, **fit_params):
            """Run the search (after the guards above); see the base class.

            Parameters
            ----------
            X : array-like of shape (n_samples, n_features)
                Training data.
            y : array-like of shape (n_samples,), default=None
                Labels.
            groups : array-like, default=None
                Group labels for a group splitter.
            **fit_params : dict
                Passed to the estimator's ``fit`` (``partial_fit`` with pruning).

            Returns
            -------
            self : object
                The fitted search.
            """
            if self.enable_pruning:
                _check_pruned_search(self, X, fit_params)
            return super().fit(X, y, groups=groups, **fit_params)

else:  # pragma: no cover - the tune extra is installed in the test environment

    class OptunaSearchCV:
        """Placeholder: ``optuna-integration`` is not installed (``pip install 'skloss[tune]'``)."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                "skloss.tuning.OptunaSearchCV needs optuna-integration: pip install 'skloss[tune]'."
            )
