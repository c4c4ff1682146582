"""All or nothing: a failed call leaves an estimator as it was before the call.

Every public method that changes an estimator (``fit``, ``partial_fit``,
``merge``) prepares new objects first and binds them as attributes last; the
context manager here puts the attribute bindings back when anything in between
raises. It restores bindings, not objects changed in place: code inside the
block builds new arrays and networks rather than writing into fitted ones, or
undoes such writes itself (the epoch roll-back of the trained networks).
"""

from contextlib import contextmanager

__all__ = ["unchanged_on_error"]


@contextmanager
def unchanged_on_error(estimator):
    """Restore ``estimator``'s attributes if the block raises an ``Exception``.

    ``KeyboardInterrupt`` is not caught: an interrupted training keeps what its
    completed epochs learned (the caller rolls back to the last one) and lets
    the interrupt reach the caller.

    Parameters
    ----------
    estimator : object
        The estimator whose ``__dict__`` is saved (a shallow copy) and restored.

    Yields
    ------
    None

    Examples
    --------
    >>> class Thing:
    ...     pass
    >>> thing = Thing()
    >>> thing.n_features_in_ = 3
    >>> try:
    ...     with unchanged_on_error(thing):
    ...         thing.n_features_in_ = 5
    ...         thing.classes_ = []
    ...         raise ValueError("bad input")
    ... except ValueError:
    ...     pass
    >>> thing.n_features_in_, hasattr(thing, "classes_")
    (3, False)
    """
    saved = dict(estimator.__dict__)
    try:
        yield
    except Exception:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        raise
