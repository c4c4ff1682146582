"""The base estimator shared by every trained skloss classifier.

Data flows one way: array in → :meth:`_validate_training_input` (validation,
label encoding, weights) → :class:`~skloss._batches.TrainingData` → the skorch
net (:class:`~skloss._net.SklossNet`) → fitted attributes. Subclasses only say
which loss to train with (:meth:`_make_loss`) and document their parameters.
"""

import copy
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import TransformerTags, check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch.callbacks import Callback

from skloss._batches import TrainingData, as_feature_tensor, evaluation_rows, iterate_rows
from skloss._devices import resolve_device
from skloss._input_checks import check_class_weight_values, check_float32_range, unique_labels
from skloss._net import CONTEXT_PROVIDERS, LossModule, ProgressBar, SklossNet, StoppingRule
from skloss._optim import OptimizerFactory
from skloss._scores import decision_scores, probability_columns
from skloss.exceptions import TrainingInterruptedWarning
from skloss.fused import choose_backend
from skloss.modules import ACTIVATIONS, MLP


class BaseLossClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the skloss classifiers; not for direct use.

    Subclasses define ``__init__`` with their own parameters plus the common
    parameters (:data:`skloss._docstrings.COMMON_PARAMETERS`), and implement
    :meth:`_make_loss`.
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
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features of this chunk.
        y : array-like of shape (n_samples,)
            Labels of this chunk.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call and must
            not change afterwards (scikit-learn's rule).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, normalised to mean 1 within this call.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit(X, y, classes=classes, sample_weight=sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight=None, classes=None, incremental=False):
        """``fit`` (``incremental=False``) and ``partial_fit``: one pipeline.

        Array in, validate and encode, weights, training data, net (built on a
        fresh start), epochs, fitted attributes. Everything that can be wrong
        with the input is reported before the first epoch.
        """
        fitted = hasattr(self, "net_")
        fresh = not fitted or not (incremental or self.warm_start)
        # Bad input must leave a fitted estimator as it was: validate_data resets these
        # two on a fresh start, so they are put back if anything below refuses the input.
        kept = {
            k: self.__dict__[k]
            for k in ("n_features_in_", "feature_names_in_")
            if k in self.__dict__
        }
        try:
            prepared = self._prepare_fit(X, y, sample_weight, classes, incremental, fresh, fitted)
        except Exception:
            for name in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(name, None)
            self.__dict__.update(kept)
            raise
        loss, backend, classes, seed, train_data, valid_data, net = prepared
        if not fresh and loss is not self.loss_:
            # The loss was changed since the last fit: the network trains with the new one.
            self.loss_ = self.net_.criterion_.loss = loss
            self.net_.criterion_.fused_backend = backend
        if fresh:
            self.classes_ = classes
            self.loss_ = loss
            self._seed = seed
            self.n_iter_ = 0
            self.loss_curve_ = []
            self.net_ = net
        self._train(
            train_data,
            valid_data,
            epochs=1 if incremental else self.max_iter,
            seed=seed,
            stopping_rule=not incremental,
            new_optimizer=not fresh and not incremental,
        )
        if self.net_.interrupted_:
            warnings.warn(
                f"{type(self).__name__}: training was interrupted (KeyboardInterrupt); the "
                "estimator is fitted as of the last completed epoch: its weights, n_iter_="
                f"{self.n_iter_} and loss_curve_ describe that epoch.",
                TrainingInterruptedWarning,
            )
        elif not incremental and not dict(self.net_.callbacks_)["stopping"].converged_:
            warnings.warn(
                f"{type(self).__name__}: max_iter={self.max_iter} epochs reached and the "
                "optimisation has not converged yet.",
                ConvergenceWarning,
            )
        return self

    def _prepare_fit(self, X, y, sample_weight, classes, incremental, fresh, fitted):
        """Everything before the first epoch, without changing the estimator.

        Returns the loss, the classes, the seed of this call, the training and
        validation data, and on a fresh start the new net (else None).
        """
        if fresh or not incremental:
            self._validate_params()
            self._check_callbacks()
        if incremental and not fitted and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the list of "
                "every label the stream will contain."
            )
        loss, backend = (self._checked_loss(), None) if fresh else self._continued_loss()
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype="numeric", reset=fresh)
        check_float32_range(X)
        unique_labels(y)  # labels of mixed types: a clear error before sklearn's
        check_classification_targets(y)
        if incremental:
            classes = self._stream_classes(classes, y, fresh)
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit, which sees one "
                    "chunk at a time. Compute weights on a large sample of the stream with "
                    "sklearn.utils.class_weight.compute_class_weight and pass them as a dict."
                )
            y_encoded = np.searchsorted(classes, y)
        else:
            classes, y_encoded = unique_labels(y, return_inverse=True)
            if not fresh and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    "warm_start can only be used where y has the same classes as in the "
                    f"previous call to fit: previously {self.classes_.tolist()}, now "
                    f"{classes.tolist()}. Set warm_start=False to start afresh."
                )
        if fresh:
            # partial_fit accepts one-row chunks; fit needs two samples.
            self._check_classes(classes, loss, None if incremental else len(y))
        weight = self._combined_weights(X, y_encoded, classes, sample_weight, partial=incremental)

        if fresh:
            seed = self._seed_from_random_state()
        elif incremental:
            # Each partial_fit call draws its stream from the base seed and the epochs
            # so far: a sequence of calls is reproducible without storing a generator.
            seed = (self._seed + self.n_iter_) % (2**31 - 1)
        else:
            seed = self._seed_from_random_state()
        valid_data = None
        train_index = np.arange(len(y_encoded))
        early_stopping = self.early_stopping and not incremental
        if early_stopping:
            train_index, valid_index = self._validation_split(y_encoded, seed)
            valid_data = self._training_data(X, y_encoded, None, valid_index)
        train_data = self._training_data(X, y_encoded, weight, train_index)
        net = None
        if fresh:
            net = self._build_net(X.shape[1], len(train_data), seed, loss, len(classes))
        return loss, backend, classes, seed, train_data, valid_data, net

    def _continued_loss(self):
        """The loss that continues a fitted model, and its fused backend.

        ``loss_`` itself (with its per-sample state) while the ``loss`` parameters
        still describe it; after ``set_params`` changed them, the new loss (fresh
        state), as ``MLPClassifier`` takes changed parameters on a ``warm_start``
        fit. Returns ``(loss, backend)``; ``backend`` is None when ``loss_`` is kept.
        """
        new = self._checked_loss()
        if new == self.loss_:  # Loss equality: same type and hyperparameters
            return self.loss_, None
        n_classes = len(self.classes_)
        have, need = self.loss_.n_outputs(n_classes), new.n_outputs(n_classes)
        if have != need:
            raise ValueError(
                f"loss {new!r} needs {need} network output(s) for {n_classes} classes, but "
                f"the fitted network has {have} (trained with {self.loss_!r}), so it cannot "
                "continue it. Set warm_start=False to train afresh with the new loss."
            )
        new.check_n_classes(n_classes, from_scratch=False)
        net = self.net_
        backend = choose_backend(new, net.module_, net.batch_size, self.fused, n_classes)
        return new, backend

    def _stream_classes(self, classes, y, first_call):
        """The classes of a partial_fit stream, checked against this chunk."""
        if classes is not None:
            classes = unique_labels(np.asarray(classes), name="classes")
            if not first_call and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} is not the same as on the first call to "
                    f"partial_fit ({self.classes_.tolist()}); it must not change."
                )
        else:
            classes = self.classes_
        try:
            unknown = np.setdiff1d(unique_labels(y), classes).tolist()
        except TypeError:
            unknown = [label for label in set(y.tolist()) if label not in set(classes.tolist())]
        if len(unknown):
            raise ValueError(
                f"y contains labels {unknown} that are not in classes="
                f"{classes.tolist()}; pass every label of the stream in classes on the "
                "first call."
            )
        return classes

    def set_params(self, **params):
        """Set parameters; ``loss__<name>`` also works where ``loss`` is a registry name.

        A nested loss parameter on a loss given by name (``loss="gce"``,
        ``loss__q=0.5``) replaces the name by a new instance of that loss, then
        sets the parameter on it, so grid searches over ``loss__q`` work with
        ``loss="gce"`` as with ``loss=GCE()``.

        Parameters
        ----------
        **params : dict
            Estimator parameters, nested ones as ``loss__q``.

        Returns
        -------
        self : object
            The estimator.
        """
        if any(key.startswith("loss__") for key in params) and "loss" in self.get_params(False):
            loss = params.get("loss", self.get_params(False)["loss"])
            if isinstance(loss, str):
                from skloss.losses import get_loss

                params = {**params, "loss": get_loss(loss)}
        return super().set_params(**params)

    def __setstate__(self, state):
        super().__setstate__(state)
        # skorch pickles its criterion on its own (torch.save), which breaks the
        # identity of ``loss_`` and the loss the net trains with; a loss with
        # per-sample state (ALDR-KL's lam_) must stay one object, so that warm_start
        # and partial_fit after unpickling update the fitted state.
        net = self.__dict__.get("net_")
        criterion = getattr(net, "criterion_", None)
        if "loss_" in self.__dict__ and isinstance(criterion, LossModule):
            criterion.loss = self.loss_

    # ---- prediction -------------------------------------------------------------------
    def _forward_blocks(self, X, part, each_block=None):
        """``part(rows)`` for blocks of rows of ``X``, as float64 on the CPU.

        ``part`` is the network or a piece of it; ``each_block`` maps every block
        (float64, CPU) to what is kept of it, so that ``predict`` keeps labels
        rather than all the logits.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype="numeric", reset=False)
        check_float32_range(X)
        module = self.net_.module_
        device = _module_device(module)
        rows_per_block = evaluation_rows(self.loss_.n_outputs(len(self.classes_)))
        was_training = module.training
        module.eval()
        parts = []
        try:
            with torch.no_grad():
                for rows in iterate_rows(as_feature_tensor(X, device), rows_per_block, device):
                    block = part(rows).to(device="cpu", dtype=torch.float64)
                    parts.append(block if each_block is None else each_block(block))
        finally:
            module.train(was_training)
        return torch.cat(parts)

    def _logits(self, X, each_block=None):
        check_is_fitted(self)
        return self._forward_blocks(X, self.net_.module_, each_block)

    def decision_function(self, X):
        """Logits of the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes, the score of ``classes_[1]`` relative to ``classes_[0]``.
        """
        return decision_scores(self._logits(X)).numpy()

    def predict_proba(self, X):
        """Class probabilities, through the loss's link (softmax unless it says otherwise).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        return self._logits(X, self._probabilities).numpy()

    def _probabilities(self, logits):
        return probability_columns(self.loss_.link(logits))

    def transform(self, X):
        """The last hidden layer: what the network's output layer sees.

        A fitted estimator is then an ordinary scikit-learn transformer, usable as
        a feature extractor (``AnalyticIncrementalClassifier(backbone=...)``, a
        ``Pipeline`` step).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to embed.

        Returns
        -------
        ndarray of shape (n_samples, n_hidden)
            ``module.features(X)`` as float64.
        """
        check_is_fitted(self)
        features = getattr(self.net_.module_, "features", None)
        if not isinstance(features, torch.nn.Module):
            raise AttributeError(
                f"transform needs a module with a `features` submodule (the part before "
                f"the output layer); {type(self.net_.module_).__name__} has none. The "
                "default MLP has one."
            )
        return self._forward_blocks(X, features).numpy()

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels (from ``classes_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
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
        # transform returns the last hidden layer, always as float64.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags

    # ---- internals --------------------------------------------------------------------
    def _checked_loss(self):
        loss = self._make_loss()
        unknown = [r for r in loss.requires if r not in CONTEXT_PROVIDERS]
        if unknown:
            raise ValueError(
                f"loss {loss!r} requires {unknown}, which the training step cannot provide; "
                f"known requirements are {list(CONTEXT_PROVIDERS)}."
            )
        return loss

    def _check_callbacks(self):
        """Every entry of ``callbacks`` is a skorch callback with a free name."""
        for position, entry in enumerate(self.callbacks or []):
            name, callback = entry if _is_named_pair(entry) else (None, entry)
            if not (
                isinstance(callback, Callback)
                or (isinstance(callback, type) and issubclass(callback, Callback))
            ):
                raise TypeError(
                    f"callbacks[{position}] is {callback!r} ({type(callback).__name__}), not a "
                    "skorch callback: pass instances of skorch.callbacks.Callback (or "
                    "(name, callback) pairs)."
                )
            if name in _RESERVED_CALLBACK_NAMES:
                raise ValueError(
                    f"callbacks[{position}] is named {name!r}, which skloss uses for its own "
                    f"callback; choose another name (taken: {sorted(_RESERVED_CALLBACK_NAMES)})."
                )

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
        loss.check_n_classes(len(classes))

    def _combined_weights(self, X, y_encoded, classes, sample_weight, partial):
        weight = None
        if sample_weight is not None:
            weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        if self.class_weight is not None:
            class_weight = self.class_weight
            if isinstance(class_weight, dict):
                check_class_weight_values(class_weight)
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

    def _resolved_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return max(1, min(200, n_samples))
        return max(1, min(self.batch_size, n_samples))

    def _build_module(self, n_features, n_outputs, seed):
        """The network, initialised from ``seed`` without the global torch RNG when skloss
        builds it; a user's class or callable is built under the lock that seeds it."""
        if self.module is None:
            hidden = tuple(int(h) for h in np.atleast_1d(self.hidden_layer_sizes))
            if any(h < 1 for h in hidden):
                raise ValueError(
                    f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes}."
                )
            # Built on the meta device (no draws), then initialised on the CPU from the
            # fit's own generator: the same weights on every device and in every thread.
            with torch.device("meta"):
                module = MLP(n_features, n_outputs, hidden, self.activation)
            module = module.to_empty(device="cpu")
            module.reset_parameters(torch.Generator().manual_seed(seed))
            return module
        if isinstance(self.module, torch.nn.Module):
            return copy.deepcopy(self.module)
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = self.module(n_features_in=n_features, n_outputs=n_outputs)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                f"module must build a torch.nn.Module when called as module(n_features_in="
                f"{n_features}, n_outputs={n_outputs}); it returned {type(module).__name__}."
            )
        return module

    def _optimizer_factory(self, batch_size):
        # MLPClassifier's penalty, alpha / (2 * batch_size) * ||W||^2 on each batch's loss.
        return OptimizerFactory(self.optimizer, self.learning_rate_init, self.alpha / batch_size)

    def _build_net(self, n_features, n_samples, seed, loss, n_classes):
        batch_size = self._resolved_batch_size(n_samples)
        n_outputs = loss.n_outputs(n_classes)
        module = self._build_module(n_features, n_outputs, seed).to(self._device())
        self._check_module_output(module, n_features, n_outputs, loss)
        callbacks = [
            ("stopping", StoppingRule(self.early_stopping, self.tol, self.n_iter_no_change)),
        ]
        if self.verbose:
            callbacks.append(("progress", ProgressBar(self.max_iter)))
        callbacks.extend(copy.deepcopy(self.callbacks or []))
        net = SklossNet(
            module=module,
            criterion=LossModule(
                loss, n_classes, choose_backend(loss, module, batch_size, self.fused, n_classes)
            ),
            optimizer=self._optimizer_factory(batch_size),
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=batch_size,
            train_split=None,
            callbacks=callbacks,
            verbose=int(bool(self.verbose)),
            device=self._device(),
        )
        net.initialize()
        return net

    def _check_module_output(self, module, n_features, n_outputs, loss):
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
                f"logits for loss {loss!r}; it returned shape "
                f"{tuple(getattr(out, 'shape', ()))}."
            )

    def _train(self, train_data, valid_data, epochs, seed, stopping_rule, new_optimizer=False):
        net = self.net_
        named = dict(net.callbacks_)
        # Reconfigured on every call: a warm start may follow set_params, and
        # partial_fit (one epoch per call) applies no stopping rule at all.
        named["stopping"].set_params(
            early_stopping=self.early_stopping,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
        )
        named["stopping"].enabled = stopping_rule
        if "progress" in named:
            named["progress"].total = epochs
        net.n_training_samples = len(train_data)
        net.batch_size = self._resolved_batch_size(len(train_data))
        if new_optimizer:
            # A warm_start fit starts a new optimiser from the current parameters, as
            # MLPClassifier does: set_params(learning_rate_init=...) takes effect.
            net.optimizer = self._optimizer_factory(net.batch_size)
            net.lr = self.learning_rate_init
            net.initialize_optimizer()
            # skorch's LRScheduler resumes at the epoch count (last_epoch >= 0), for which
            # torch's schedulers read each group's starting rate: the new one.
            for group in net.optimizer_.param_groups:
                group.setdefault("initial_lr", group["lr"])
        generator = torch.Generator().manual_seed(seed)
        loss_generator = None
        if "generator" in self.loss_.requires:
            loss_generator = torch.Generator(device=train_data.device).manual_seed(seed + 1)
        n_before = len(net.history)
        net.partial_fit(
            (train_data, valid_data),
            epochs=epochs,
            generator=generator,
            loss_generator=loss_generator,
        )
        history = net.history[n_before:]
        self.n_iter_ += len(history)
        self.loss_curve_.extend(row["train_loss"] for row in history)
        if valid_data is not None:
            scores = [row["valid_acc"] for row in history]
            self.validation_scores_ = scores
            self.best_validation_score_ = max(scores, default=None)
        else:
            self.best_loss_ = min(self.loss_curve_, default=None)


def _module_device(module):
    parameter = next(module.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


#: Names of the callbacks skloss's net adds itself.
_RESERVED_CALLBACK_NAMES = frozenset(
    {"epoch_timer", "train_loss", "valid_loss", "stopping", "progress"}
)

# Building a user's module seeds the global torch RNG: one build at a time, so that
# fits in concurrent threads each get the initialisation their seed gives.
_GLOBAL_RNG_LOCK = threading.Lock()


def _is_named_pair(entry):
    return isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
