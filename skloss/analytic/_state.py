"""What an analytic estimator holds between calls: changed all at once or not at all; pickled small.

**All or nothing.** ``fit``, ``partial_fit`` and ``merge`` compute new tensors and
bind them in one :meth:`Call.commit` at the end. An exception before that leaves
the estimator as it was (:func:`skloss._atomic.unchanged_on_error` puts the
bindings back); so does an interrupt (Ctrl-C), which re-raises: for this
estimator a call is the unit of work, so "the last completed step" is the state
before the call. The one write into a fitted tensor, ``R``'s last update in place
(copying the ``d x d`` matrix on every call would cost more than a small call),
happens inside the commit, after everything that can fail.

**The pickled form.** Prediction needs the buffer weights ``W_B`` and the head
``W``; learning on needs ``R`` (``d x d`` float64, 32 MiB at ``d = 2048``). A
pickle leaves out ``W_B`` when it can be drawn again from an int
``random_state`` (checked when saving, and by a SHA-256 when loading), and stores
only the upper triangle of ``R`` when ``R`` is exactly symmetric (after ``fit``
and ``merge``; the recursive update leaves rounding-level asymmetry, so a stream's
``R`` is stored whole). Loading gives back the very same tensors.
"""

import hashlib
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import torch

from skloss._atomic import unchanged_on_error
from skloss.analytic import _buffer

__all__ = ["Call", "all_or_nothing", "packed", "unpacked"]

_BUFFER_FROM_SEED = "_buffer_weight_from_seed"
_INVERSE_UPPER = "_inverse_autocorrelation_upper"


class Call:
    """One call on an estimator: what it had before, and the commit of what it learned.

    Parameters
    ----------
    estimator : object
        The estimator the call changes.
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.before = dict(estimator.__dict__)
        self._learned = None

    def commit(self, attributes, downdate=None):
        """Bind ``attributes``, after writing ``R``'s pending update in place.

        Parameters
        ----------
        attributes : dict
            Attribute name -> new value.
        downdate : tuple of (torch.Tensor, torch.Tensor or None), default=None
            ``(R, G^T)``: the call's last :func:`skloss.analytic._ridge.downdate`,
            ``R <- R - G G^T``.
        """
        self._learned = attributes
        inverse, gain_t = downdate if downdate is not None else (None, None)
        try:
            if gain_t is not None:
                # _ridge.downdate inline: CPython raises a pending interrupt on entering
                # a Python function and when a call returns, never between the loads
                # and the call into torch below. So an interrupt raised in this block
                # comes after the write, and the finally binds the rest with it.
                inverse.addmm_(gain_t.T, gain_t, alpha=-1.0)
        finally:
            # __dict__.update (not vars(), itself a call) binds everything in one step.
            self.estimator.__dict__.update(attributes)

    def committed(self):
        """Whether :meth:`commit` has bound what the call learned.

        Returns
        -------
        bool
            True once every attribute of the commit is bound.
        """
        state = self.estimator.__dict__
        return self._learned is not None and all(
            name in state and state[name] is value for name, value in self._learned.items()
        )


@contextmanager
def all_or_nothing(estimator):
    """The estimator changes at :meth:`Call.commit` or not at all, interrupts included.

    Parameters
    ----------
    estimator : object
        The estimator a call changes.

    Yields
    ------
    Call
        Whose :meth:`Call.commit` binds what the call learned.

    Examples
    --------
    >>> class Thing:
    ...     pass
    >>> thing = Thing()
    >>> thing.n_features_in_ = 3
    >>> try:
    ...     with all_or_nothing(thing) as call:
    ...         thing.n_features_in_ = 5
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> thing.n_features_in_
    3
    """
    call = Call(estimator)
    try:
        with unchanged_on_error(estimator):
            yield call
    except KeyboardInterrupt:
        # unchanged_on_error lets interrupts through on purpose (trained networks
        # roll back to their last epoch); here the last completed step is the
        # state before the call, unless the commit already bound the new one.
        if not call.committed():
            estimator.__dict__.clear()
            estimator.__dict__.update(call.before)
        raise


def packed(state):
    """The pickled form of an estimator's ``__dict__``: a new dict, smaller.

    Parameters
    ----------
    state : dict
        The estimator's attributes (not modified).

    Returns
    -------
    dict
        ``state`` without what :func:`unpacked` can rebuild exactly.
    """
    state = dict(state)
    buffer = state.get("buffer_weight_")
    parameters = state.get("_model_parameters")
    if isinstance(buffer, torch.Tensor) and parameters is not None:
        seed = parameters["random_state"]
        if isinstance(seed, Integral) and not isinstance(seed, (bool, np.bool_)):
            drawn = _drawn_buffer(parameters, buffer.shape[0], buffer.device)
            if torch.equal(drawn, buffer):
                del state["buffer_weight_"]
                state[_BUFFER_FROM_SEED] = {"sha256": _sha256(buffer), "device": str(buffer.device)}
    inverse = state.get("inverse_autocorrelation_")
    if isinstance(inverse, torch.Tensor) and torch.equal(inverse, inverse.T):
        del state["inverse_autocorrelation_"]
        state[_INVERSE_UPPER] = inverse[_upper_mask(inverse)]
    return state


def unpacked(state):
    """The estimator's ``__dict__`` from its pickled form (see :func:`packed`).

    Parameters
    ----------
    state : dict
        What :func:`packed` returned (or an older, unpacked pickle's state).

    Returns
    -------
    dict
        The attributes, with the very tensors :func:`packed` left out.
    """
    state = dict(state)
    if _BUFFER_FROM_SEED in state:
        recorded = state.pop(_BUFFER_FROM_SEED)
        parameters = state["_model_parameters"]
        buffer = _drawn_buffer(parameters, state["n_embedding_"], torch.device(recorded["device"]))
        if _sha256(buffer) != recorded["sha256"]:
            raise ValueError(
                "this pickled AnalyticIncrementalClassifier leaves out its buffer weights, "
                f"to be drawn again from random_state={parameters['random_state']!r}, but "
                "the weights drawn now differ from those it was fitted with (numpy or skloss "
                "draw them differently). Load it with the numpy and skloss versions that "
                "saved it."
            )
        state["buffer_weight_"] = buffer
    if _INVERSE_UPPER in state:
        upper = state.pop(_INVERSE_UPPER)
        size = round((np.sqrt(8 * upper.numel() + 1) - 1) / 2)
        inverse = upper.new_empty(size, size)
        mask = _upper_mask(inverse)
        inverse[mask] = upper
        inverse.T[mask] = upper
        state["inverse_autocorrelation_"] = inverse
    return state


def _drawn_buffer(parameters, n_embedding, device):
    return _buffer.draw_weights(
        n_embedding, parameters["buffer_size"], parameters["init"], parameters["random_state"]
    ).to(device)


def _upper_mask(matrix):
    return torch.ones(matrix.shape, dtype=torch.bool, device=matrix.device).triu()


def _sha256(tensor):
    return hashlib.sha256(tensor.cpu().contiguous().numpy().tobytes()).hexdigest()
