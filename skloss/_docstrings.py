"""Named docstring fragments and the decorator that fills them in.

Estimators share most of their parameters; each parameter's entry is written
once here and a docstring names where the block goes with ``%(name)s``.
:class:`Substitution` fails loudly on a missing or an unused fragment, so a
docstring cannot silently lose a section when the text changes.
"""

import re
import textwrap

__all__ = [
    "Substitution",
    "COMMON_ATTRIBUTES",
    "COMMON_PARAMETERS",
    "attribute_block",
    "parameter_block",
]

# A field stands alone on its line, indented like the text around it (as formatters
# keep docstrings); the whole line is replaced by the fragment, which carries its
# own indentation.
_FIELD = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


class Substitution:
    """Decorator filling ``%(name)s`` fields of a docstring with named fragments.

    Parameters
    ----------
    **fragments : str
        Text for each field; every field of the docstring must have one and every
        fragment must be used.

    Examples
    --------
    >>> @Substitution(extra="    y : int\\n        Another.")
    ... def f(x, y):
    ...     '''Do it.
    ...
    ...     Parameters
    ...     ----------
    ...     x : int
    ...         One.
    ...     %(extra)s
    ...     '''
    >>> "Another." in f.__doc__
    True
    """

    def __init__(self, **fragments):
        self.fragments = fragments

    def __call__(self, obj):
        fields = {name for _, name in _FIELD.findall(obj.__doc__ or "")}
        missing = fields - set(self.fragments)
        unused = set(self.fragments) - fields
        if missing or unused:
            raise ValueError(
                f"docstring of {obj.__qualname__}: fields without a fragment {sorted(missing)}, "
                f"fragments without a field {sorted(unused)}."
            )
        # Each fragment is re-indented to its field's column: Python 3.13+ strips the
        # common indentation of docstrings, earlier versions keep it.
        obj.__doc__ = _FIELD.sub(
            lambda match: textwrap.indent(
                textwrap.dedent(self.fragments[match.group(2)]), match.group(1)
            ),
            obj.__doc__,
        )
        return obj


#: One numpydoc entry per parameter of :class:`skloss._targets.BaseLossClassifier`.
COMMON_PARAMETERS = {
    "hidden_layer_sizes": """    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden layer widths of the default MLP, as in ``MLPClassifier``.
        Ignored when ``module`` is given.""",
    "activation": """    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, \
default="relu"
        Hidden-layer non-linearity of the default MLP.""",
    "alpha": """    alpha : float, default=1e-4
        L2 penalty on the weight matrices (not the biases), scaled as in
        ``MLPClassifier``: the objective adds ``alpha / (2 * batch_size) * ||W||^2``.""",
    "batch_size": """    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.""",
    "learning_rate_init": """    learning_rate_init : float, default=1e-3
        Learning rate of the optimiser.""",
    "max_iter": """    max_iter : int, default=200
        Maximum number of epochs (passes over the data).""",
    "optimizer": """    optimizer : {"adam", "adamw", "sgd"} or callable, default="adam"
        "adam" and "adamw" use betas (0.9, 0.999), eps 1e-8; "sgd" uses Nesterov
        momentum 0.9 (``MLPClassifier``'s settings). A torch optimiser class (or any
        callable ``f(param_groups, lr=...)`` returning a torch optimiser) is used as is.""",
    "early_stopping": """    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data, stop
        when its accuracy has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs, and restore the best epoch's weights. A loss
        that declares ``stops_on_validation_loss`` (``ForwardCorrection`` with a
        transition matrix) is monitored by its validation loss instead.""",
    "validation_fraction": """    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` is True.""",
    "n_iter_no_change": """    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.""",
    "tol": """    tol : float, default=1e-4
        Improvement threshold of the stopping rule (validation accuracy with
        ``early_stopping``, training loss without).""",
    "random_state": """    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split and any
        random draws of the loss, all from generators owned by the fit: with an
        int, fits on the CPU are bit-identical, also when several run at once in
        threads, and the global torch RNG is untouched. A ``module`` class or
        callable is built with the global torch RNG seeded from ``random_state``
        (under a lock); randomness inside a user module's ``forward`` (dropout)
        draws from the global RNG and is the user's to seed.""",
    "verbose": """    verbose : bool or int, default=False
        As in scikit-learn: 1 (or True) prints ``MLPClassifier``'s lines (the
        loss after every epoch, the validation score with ``early_stopping``,
        and why training stopped) to standard output; 2 adds each call's
        setting (rows, batch size, fused head) and each epoch's validation loss
        and time. A skorch ``PrintLog`` passed in ``callbacks`` prints too when
        ``verbose`` is set.""",
    "warm_start": """    warm_start : bool, default=False
        Continue from the previous solution on the next ``fit``.""",
    "module": """    module : torch.nn.Module class, callable or instance, default=None
        The network. A class or callable is called as
        ``module(n_features_in=..., n_outputs=...)``; an instance is deep-copied and
        trained from its current weights. None builds :class:`skloss.modules.MLP`.""",
    "device": """    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device; "auto" is CUDA when available.""",
    "class_weight": """    class_weight : dict, "balanced" or None, default=None
        Non-negative weights per class, multiplied into ``sample_weight``.""",
    "callbacks": """    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (instances or ``(name, callback)`` pairs); they see
        what they see on a plain skorch net (per-batch ``y_pred`` and ``loss``,
        history with ``train_loss``, ``valid_loss`` and their ``_best`` flags).""",
    "fused": """    fused : "auto" or bool, default="auto"
        Compute the training loss from the network's last hidden layer and output
        layer with :func:`skloss.fused.linear_loss`, without materialising the
        ``batch_size x n_classes`` logits. Possible when the network exposes
        ``features`` and ``head`` with ``forward(x) == head(features(x))`` (the
        default MLP does) and the loss has a fused form and needs no context.
        "auto" does it when a batch's float32 logits would exceed
        ``skloss.fused.DEFAULT_CHUNK_BYTES`` (16 MiB, e.g. 200 rows x 21,000
        classes); True always does it (an error if it is not possible); False never.""",
    "precision": """    precision : {"32", "bf16-mixed"}, default="32"
        Arithmetic of training. ``"bf16-mixed"`` runs the forward pass under
        bfloat16 autocast while the weights, gradients and optimiser state stay
        float32 and the loss is computed from float32 outputs. It is fast only
        where the hardware computes bfloat16 natively (CUDA GPUs that support it;
        CPUs with ``avx512_bf16`` or AMX); elsewhere the estimator trains in
        float32 and warns once (:class:`~skloss.exceptions.PrecisionWarning`).""",
    "inference_precision": """    inference_precision : {"32", "bf16-mixed"}, default="32"
        Arithmetic of ``predict``, ``predict_proba``, ``decision_function`` and
        ``transform``: float32 unless asked (with the same fallback as
        ``precision``); outputs are returned as float64 either way.""",
}


def parameter_block(exclude=(), **overrides):
    """The common parameters' entries in order, some replaced by name.

    Parameters
    ----------
    exclude : tuple of str, default=()
        Parameters the estimator does not have.
    **overrides : str
        Replacement entries keyed by parameter name; an unknown name is an error.

    Returns
    -------
    str
        The entries, one per line block, ready for a ``Parameters`` section.
    """
    return _block(COMMON_PARAMETERS, "parameter", exclude, overrides)


def _block(entries, what, exclude, overrides):
    unknown = (set(overrides) | set(exclude)) - set(entries)
    if unknown:
        raise KeyError(f"no common {what} named {sorted(unknown)}")
    return "\n".join(
        overrides.get(name, text) for name, text in entries.items() if name not in exclude
    )


#: One numpydoc entry per fitted attribute of the classifiers, with the meaning
#: ``MLPClassifier`` gives each (and skloss's own: ``loss_function_``, ``net_``).
COMMON_ATTRIBUTES = {
    "classes_": """    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.""",
    "loss_": """    loss_ : float
        The training loss of the last epoch (``MLPClassifier``'s ``loss_``).""",
    "best_loss_": """    best_loss_ : float or None
        The lowest training loss; None when the last call validated
        (``early_stopping``), as in ``MLPClassifier``.""",
    "loss_curve_": """    loss_curve_ : list of float
        Mean training loss of each epoch, across ``warm_start`` and
        ``partial_fit`` calls since the last fresh start.""",
    "validation_scores_": """    validation_scores_ : list of float or None
        Validation accuracy of each epoch with ``early_stopping`` (across
        ``warm_start`` calls that all validated); None otherwise. The
        forward-corrected loss (``ForwardCorrection`` with a transition matrix)
        is scored by minus its validation loss instead: the accuracy on noisy
        validation labels rewards reproducing the flips the correction models.""",
    "best_validation_score_": """    best_validation_score_ : float or None
        The best of ``validation_scores_``, whose weights are kept; None without
        ``early_stopping``.""",
    "t_": """    t_ : int
        Training samples seen by the optimiser (rows times epochs).""",
    "coefs_": """    coefs_ : list of ndarray
        ``coefs_[i]``, of shape (n_in, n_out), is the weight matrix between layers
        ``i`` and ``i + 1`` (float32 views of the network's ``torch.nn.Linear``
        weights, transposed, as ``MLPClassifier`` lays them out).""",
    "intercepts_": """    intercepts_ : list of ndarray
        ``intercepts_[i]``, of shape (n_out,), is the bias vector of layer ``i + 1``.""",
    "n_features_in_": """    n_features_in_ : int
        Number of features seen during fit.""",
    "feature_names_in_": """    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.""",
    "n_iter_": """    n_iter_ : int
        Epochs run (across ``warm_start`` and ``partial_fit`` calls).""",
    "n_layers_": """    n_layers_ : int
        Number of layers, input and output included.""",
    "n_outputs_": """    n_outputs_ : int
        Number of outputs of the network (the loss's ``n_outputs(n_classes)``).""",
    "out_activation_": """    out_activation_ : str
        ``"logistic"`` for a one-output network, else ``"softmax"``.""",
    "loss_function_": """    loss_function_ : skloss.losses.Loss
        The loss trained with (a copy of ``loss``), with any per-sample state it
        keeps (e.g. ALDR-KL's ``lam_``), which ``warm_start`` and ``partial_fit``
        continue from.""",
    "net_": """    net_ : skorch.NeuralNet
        The trained skorch net (``net_.module_`` is the torch module,
        ``net_.history`` the per-epoch record).""",
}


def attribute_block(exclude=(), **overrides):
    """The common fitted attributes' entries in order, some replaced by name.

    Parameters
    ----------
    exclude : tuple of str, default=()
        Attributes the estimator does not have.
    **overrides : str
        Replacement entries keyed by attribute name; an unknown name is an error.

    Returns
    -------
    str
        The entries, ready for an ``Attributes`` section.
    """
    return _block(COMMON_ATTRIBUTES, "attribute", exclude, overrides)
