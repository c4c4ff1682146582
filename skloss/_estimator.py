"""The base estimator shared by every trained skloss classifier.

Data flows one way: array in → :meth:`_validate_training_input` (validation,
label encoding, weights) → :class:`~skloss._batches.TrainingData` → the skorch
net (:class:`~skloss._net.SklossNet`) → fitted attributes. Subclasses only say
which loss to train with (:meth:`_make_loss`) and document their parameters.
"""

import contextlib
import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch.callbacks import EpochTimer

from skloss._batches import TrainingData, as_feature_tensor, evaluation_rows, iterate_rows
from skloss._devices import resolve_device
from skloss._net import LossModule, ProgressBar, SklossNet, StoppingRule
from skloss._optim import OptimizerFactory
from skloss.losses._base import KNOWN_REQUIREMENTS
from skloss.modules import ACTIVATIONS, MLP

_COMMON_PARAMS_DOC = """
    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden layer widths of the default MLP, as in ``MLPClassifier``.
        Ignored when ``module`` is given.
    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, default="relu"
        Hidden-layer non-linearity of the default MLP.
    alpha : float, default=1e-4
        L2 penalty on the weight matrices (not the biases), scaled as in
        ``MLPClassifier``: the objective adds ``alpha / (2 * batch_size) * ||W||^2``.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    learning_rate_init : float, default=1e-3
        Learning rate of the optimiser.
    max_iter : int, default=200
        Maximum number of epochs (passes over the data).
    optimizer : {"adam", "adamw", "sgd"} or callable, default="adam"
        "adam" and "adamw" use betas (0.9, 0.999), eps 1e-8; "sgd" uses Nesterov
        momentum 0.9 (``MLPClassifier``'s settings). A torch optimiser class (or any
        callable ``f(param_groups, lr=...)``) is used as is.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data, stop
        when its accuracy has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs, and restore the best epoch's weights.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Improvement threshold of the stopping rule (validation accuracy with
        ``early_stopping``, training loss without).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. With an
        int, fits on the CPU are bit-identical; the global torch RNG is untouched.
    verbose : bool, default=False
        Show a progress bar over epochs with the latest losses.
    warm_start : bool, default=False
        Continue from the previous solution on the next ``fit``.
    module : torch.nn.Module class, callable or instance, default=None
        The network. A class or callable is called as
        ``module(n_features_in=..., n_outputs=...)``; an instance is deep-copied and
        trained from its current weights. None builds :class:`skloss.modules.MLP`.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device; "auto" is CUDA when available.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (instances or ``(name, callback)`` pairs).
    fused : "auto" or bool, default="auto"
        Compute the training loss from the network's last hidden layer and output
        layer with :func:`skloss.fused.linear_loss`, without materialising the
        ``batch_size x n_classes`` logits. Possible when the network exposes
        ``features`` and ``head`` with ``forward(x) == head(features(x))`` (the
        default MLP does) and the loss has a fused form and needs no context.
        "auto" does it when a batch's float32 logits would exceed
        ``skloss.fused.DEFAULT_CHUNK_BYTES`` (16 MiB, e.g. 200 rows x 21,000
        classes); True always does it (an error if it is not possible); False never.
"""


class BaseLossClassifier(ClassifierMixin, BaseEstimator):
    """Shared machinery of the skloss classifiers; not for direct use.

    Subclasses define ``__init__`` with their own parameters plus
    the common parameters documented in ``_COMMON_PARAMS_DOC``, and implement :meth:`_make_loss`.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions({"adam", "adamw", "sgd"}), callable],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "module": [None, callable],
        "device": [str, torch.device],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "callbacks": [list, None],
        "fused": [StrOptions({"auto"}), "boolean"],
    }

    # ---- what subclasses provide ----------------------------------------------------
    def _make_loss(self):
        """Return a fresh, validated :class:`skloss.losses.Loss` for this fit."""
        raise NotImplementedError

    # ---- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (numpy, pandas, scipy sparse; float or int).
        y : array-like of shape (n_samples,)
            Labels of any hashable type.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        loss = self._checked_loss()
        reuse = self.warm_start and hasattr(self, "net_")
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype="numeric", reset=not reuse
        )
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if reuse and not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start can only be used where y has the same classes as in the "
                f"previous call to fit: previously {self.classes_.tolist()}, now "
                f"{classes.tolist()}. Set warm_start=False to start afresh."
            )
        self._check_classes(classes, loss, len(y))
        weight = self._combined_weights(X, y_encoded, classes, sample_weight, partial=False)

        valid_data = None
        train_index = np.arange(len(y_encoded))
        seed = self._seed_from_random_state()
        if self.early_stopping:
            train_index, valid_index = self._validation_split(y_encoded, seed)
            valid_data = self._training_data(X, y_encoded, None, valid_index)
        train_data = self._training_data(X, y_encoded, weight, train_index)

        if not reuse:
            self.classes_ = classes
            self.loss_ = loss
            self._seed = seed
            self.n_iter_ = 0
            self.loss_curve_ = []
        with self._seeded(seed):
            if not reuse:
                self.net_ = self._build_net(X.shape[1], len(train_data))
            self._train(train_data, valid_data, epochs=self.max_iter, seed=seed, stopping_rule=True)
        if not dict(self.net_.callbacks_)["stopping"].converged_:
            warnings.warn(
                f"{type(self).__name__}: max_iter={self.max_iter} epochs reached and the "
                "optimisation has not converged yet.",
                ConvergenceWarning,
            )
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call and must
            not change afterwards (scikit-learn's rule).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, normalised to mean 1 within this call.

        Returns
        -------
        self : object
        """
        first_call = not hasattr(self, "net_")
        if first_call:
            self._validate_params()
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: the list of "
                    "every label the stream will contain."
                )
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype="numeric", reset=first_call)
        check_classification_targets(y)
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if not first_call and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} is not the same as on the first call to "
                    f"partial_fit ({self.classes_.tolist()}); it must not change."
                )
        else:
            classes = self.classes_
        unknown = np.setdiff1d(np.unique(y), classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not in classes="
                f"{classes.tolist()}; pass every label of the stream in classes on the "
                "first call."
            )
        if first_call:
            loss = self._checked_loss()
            self._check_classes(classes, loss, n_samples=None)  # one-row chunks are fine
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit, which sees one "
                "chunk at a time. Compute weights on a large sample of the stream with "
                "sklearn.utils.class_weight.compute_class_weight and pass them as a dict."
            )
        y_encoded = np.searchsorted(classes, y)
        weight = self._combined_weights(X, y_encoded, classes, sample_weight, partial=True)
        train_data = self._training_data(X, y_encoded, weight, np.arange(len(y_encoded)))
        if first_call:
            self.classes_ = classes
            self.loss_ = loss
            self._seed = self._seed_from_random_state()
            self.n_iter_ = 0
            self.loss_curve_ = []
        # Each call draws its own stream of random numbers from the base seed, so
        # a sequence of calls is reproducible without storing a generator.
        seed = (self._seed + self.n_iter_) % (2**31 - 1)
        with self._seeded(seed):
            if first_call:
                self.net_ = self._build_net(X.shape[1], len(train_data))
            self._train(train_data, None, epochs=1, seed=seed, stopping_rule=False)
        return self

    # ---- prediction -------------------------------------------------------------------
    def _logits(self, X, each_block=None):
        """Logits of ``X`` as float64 on the CPU, in blocks of rows.

        ``each_block`` maps every block of logits (float64, CPU) to what is kept
        of it, so that ``predict`` keeps labels rather than all the logits.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype="numeric", reset=False)
        module = self.net_.module_
        device = _module_device(module)
        rows_per_block = evaluation_rows(self.loss_.n_outputs(len(self.classes_)))
        was_training = module.training
        module.eval()
        parts = []
        try:
            with torch.no_grad():
                for rows in iterate_rows(as_feature_tensor(X, device), rows_per_block, device):
                    block = module(rows).to(device="cpu", dtype=torch.float64)
                    parts.append(block if each_block is None else each_block(block))
        finally:
            module.train(was_training)
        return torch.cat(parts)

    def decision_function(self, X):
        """Logits of the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes, the score of ``classes_[1]`` relative to ``classes_[0]``.
        """
        logits = self._logits(X)
        if logits.shape[1] == 1:
            return logits[:, 0].numpy()
        if logits.shape[1] == 2:
            return (logits[:, 1] - logits[:, 0]).numpy()
        return logits.numpy()

    def predict_proba(self, X):
        """Class probabilities, through the loss's link (softmax unless it says otherwise).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        return self._logits(X, self._probabilities).numpy()

    def _probabilities(self, logits):
        probabilities = self.loss_.link(logits)
        if probabilities.shape[1] == 1:
            probabilities = torch.cat([1 - probabilities, probabilities], dim=1)
        return probabilities

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels (from ``classes_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        # Block by block, so that only the labels of all rows are ever held.
        codes = self._logits(X, lambda logits: self._probabilities(logits).argmax(dim=1))
        return self.classes_[codes.numpy()]

    # ---- scikit-learn metadata -------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        try:
            binary_only = self._make_loss().binary_only
        except Exception:  # an invalid loss is reported by fit, not by tags
            binary_only = False
        tags.classifier_tags.multi_class = not binary_only
        return tags

    # ---- internals --------------------------------------------------------------------
    def _checked_loss(self):
        loss = self._make_loss()
        unknown = [r for r in loss.requires if r not in KNOWN_REQUIREMENTS]
        if unknown:
            raise ValueError(
                f"loss {loss!r} requires {unknown}, which the training step cannot provide; "
                f"known requirements are {list(KNOWN_REQUIREMENTS)}."
            )
        return loss

    def _check_classes(self, classes, loss, n_samples):
        if n_samples is not None and n_samples < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to train, got "
                f"n_samples = {n_samples}."
            )
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got only "
                f"{classes.tolist()}."
            )
        if loss.binary_only and len(classes) != 2:
            raise ValueError(
                f"loss {loss!r} is defined for two classes only, but y has {len(classes)} "
                "classes. Choose another loss or wrap the estimator in "
                "sklearn.multiclass.OneVsRestClassifier."
            )

    def _combined_weights(self, X, y_encoded, classes, sample_weight, partial):
        weight = None
        if sample_weight is not None:
            weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        if self.class_weight is not None:
            class_weight = self.class_weight
            if isinstance(class_weight, dict):
                unknown = set(class_weight) - set(classes.tolist())
                if unknown and not partial:
                    raise ValueError(
                        f"class_weight names labels {sorted(unknown, key=str)} that are not in "
                        f"y (classes: {classes.tolist()})."
                    )
                class_weight = {k: v for k, v in class_weight.items() if k in set(classes.tolist())}
            per_sample = compute_sample_weight(class_weight, classes[y_encoded])
            weight = per_sample if weight is None else weight * per_sample
        if weight is None:
            return None
        total = weight.sum()
        if not total > 0:
            raise ValueError(
                "sample_weight (times class_weight) sums to zero: at least one sample must "
                "have a positive weight."
            )
        # Normalised to mean 1 so a constant rescaling changes nothing and the
        # learning rate keeps its meaning.
        return weight * (len(weight) / total)

    def _validation_split(self, y_encoded, seed):
        index = np.arange(len(y_encoded))
        counts = np.bincount(y_encoded)
        n_valid = int(np.ceil(self.validation_fraction * len(index)))
        stratify = y_encoded if counts.min() >= 2 and n_valid >= len(counts) else None
        train_index, valid_index = train_test_split(
            index, test_size=self.validation_fraction, random_state=seed, stratify=stratify
        )
        if len(train_index) == 0 or len(valid_index) == 0:
            raise ValueError(
                f"early_stopping needs data for both training and validation: with "
                f"{len(index)} samples and validation_fraction={self.validation_fraction} "
                "one side is empty. Use more data or early_stopping=False."
            )
        return np.sort(train_index), np.sort(valid_index)

    def _device(self):
        return resolve_device(self.device)

    def _training_data(self, X, y_encoded, weight, rows):
        device = self._device()
        X_rows = X if len(rows) == X.shape[0] else X[rows]
        return TrainingData(
            as_feature_tensor(X_rows, device),
            y_encoded[rows],
            None if weight is None else weight[rows],
            device,
        )

    def _seed_from_random_state(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    @contextlib.contextmanager
    def _seeded(self, seed):
        # Seed inside a forked RNG so the user's global torch RNG is left untouched.
        device = self._device()
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    def _resolved_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return max(1, min(200, n_samples))
        return max(1, min(self.batch_size, n_samples))

    def _build_module(self, n_features, n_outputs):
        if self.module is None:
            hidden = tuple(int(h) for h in np.atleast_1d(self.hidden_layer_sizes))
            if any(h < 1 for h in hidden):
                raise ValueError(
                    f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes}."
                )
            return MLP(n_features, n_outputs, hidden, self.activation)
        if isinstance(self.module, torch.nn.Module):
            return copy.deepcopy(self.module)
        module = self.module(n_features_in=n_features, n_outputs=n_outputs)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                f"module must build a torch.nn.Module when called as module(n_features_in="
                f"{n_features}, n_outputs={n_outputs}); it returned {type(module).__name__}."
            )
        return module

    def _build_net(self, n_features, n_samples):
        batch_size = self._resolved_batch_size(n_samples)
        n_outputs = self.loss_.n_outputs(len(self.classes_))
        module = self._build_module(n_features, n_outputs).to(self._device())
        self._check_module_output(module, n_features, n_outputs)
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("stopping", StoppingRule(self.early_stopping, self.tol, self.n_iter_no_change)),
        ]
        if self.verbose:
            callbacks.append(("progress", ProgressBar(self.max_iter)))
        callbacks.extend(copy.deepcopy(self.callbacks or []))
        net = SklossNet(
            module=module,
            criterion=LossModule(self.loss_, len(self.classes_),
                                 self._fused_backend(module, n_outputs, batch_size)),
            optimizer=OptimizerFactory(
                self.optimizer, self.learning_rate_init, self.alpha / batch_size
            ),
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=batch_size,
            train_split=None,
            callbacks=callbacks,
            verbose=0,
            device=self._device(),
        )
        net.initialize()
        return net

    def _fused_backend(self, module, n_outputs, batch_size):
        """The skloss.fused backend of the training loss, or None for logits then loss."""
        fused = self.fused
        from skloss import fused as fused_heads

        small_logits = batch_size * n_outputs * 4 <= fused_heads.DEFAULT_CHUNK_BYTES
        if fused is False or (fused == "auto" and small_logits):
            return None  # the plain path: no probe, no overhead

        reason = None
        if self.loss_.requires:
            reason = f"loss {self.loss_!r} requires context {list(self.loss_.requires)}"
        elif n_outputs != len(self.classes_) or not fused_heads.supports(self.loss_, n_outputs):
            reason = f"loss {self.loss_!r} has no fused form"
        elif not _has_fused_head(module):
            reason = (
                "the module does not expose `features` and a `head` nn.Linear with "
                "forward(x) == head(features(x))"
            )
        if reason is not None:
            if fused is True:
                raise ValueError(f"fused=True is not possible: {reason}. Use fused='auto'.")
            return None
        if fused is True:
            # Fused even where the logits would fit: Triton on CUDA when installed,
            # the chunked backend otherwise.
            on_cuda = _module_device(module).type == "cuda"
            return "triton" if on_cuda and fused_heads.triton_available() else "chunked"
        return "auto"

    def _check_module_output(self, module, n_features, n_outputs):
        probe = torch.zeros(2, n_features, device=_module_device(module))
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                out = module(probe)
        except Exception as error:
            raise ValueError(
                f"module failed on a batch of shape (2, {n_features}): {error}. It must map "
                f"(n_samples, n_features_in) to (n_samples, {n_outputs})."
            ) from error
        finally:
            module.train(was_training)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, n_outputs):
            raise ValueError(
                f"module must map (n_samples, {n_features}) inputs to (n_samples, {n_outputs}) "
                f"logits for loss {self.loss_!r}; it returned shape "
                f"{tuple(getattr(out, 'shape', ()))}."
            )

    def _train(self, train_data, valid_data, epochs, seed, stopping_rule):
        net = self.net_
        named = dict(net.callbacks_)
        # Reconfigured on every call: a warm start may follow set_params, and
        # partial_fit (one epoch per call) applies no stopping rule at all.
        named["stopping"].set_params(
            early_stopping=self.early_stopping, tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
        )
        named["stopping"].enabled = stopping_rule
        if "progress" in named:
            named["progress"].total = epochs
        net.n_training_samples = len(train_data)
        net.batch_size = self._resolved_batch_size(len(train_data))
        generator = torch.Generator().manual_seed(seed)
        n_before = len(net.history)
        net.partial_fit((train_data, valid_data), epochs=epochs, generator=generator)
        history = net.history[n_before:]
        self.n_iter_ += len(history)
        self.loss_curve_.extend(row["train_loss"] for row in history)
        if valid_data is not None:
            scores = [row["valid_acc"] for row in history]
            self.validation_scores_ = scores
            self.best_validation_score_ = max(scores)
        else:
            self.best_loss_ = min(self.loss_curve_)


def _has_fused_head(module):
    """Whether ``module(x) == module.head(module.features(x))``, checked on a probe batch."""
    features, head = getattr(module, "features", None), getattr(module, "head", None)
    if not isinstance(features, torch.nn.Module) or not isinstance(head, torch.nn.Linear):
        return False
    first = next((m for m in features.modules() if isinstance(m, torch.nn.Linear)), head)
    # Its own generator: the fit's random stream is not consumed.
    probe = torch.randn(3, first.in_features, generator=torch.Generator().manual_seed(0))
    probe = probe.to(device=_module_device(module), dtype=head.weight.dtype)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return bool(torch.allclose(module(probe), head(features(probe)), atol=1e-6))
    except Exception:  # a module whose parts do not compose this way
        return False
    finally:
        module.train(was_training)


def _module_device(module):
    parameter = next(module.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device
