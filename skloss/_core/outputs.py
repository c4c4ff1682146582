"""Reading a fitted network: outputs block by block, and the last hidden layer (``transform``).

Shared by every trained estimator: ``predict`` and its kin of each kind of target
read the network's outputs through :meth:`NetworkOutputs._outputs`, and every
estimator is a transformer whose ``transform`` returns the last hidden layer.
"""

import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from skloss._input_checks import check_float32_range, check_no_categorical
from skloss._training.batches import as_feature_tensor, evaluation_rows, iterate_rows
from skloss._training.build import module_device
from skloss._training.precision import autocast_dtype, forward_precision

__all__ = ["NetworkOutputs"]


class NetworkOutputs(TransformerMixin):
    """Mixin: the fitted network's outputs in blocks of rows, and ``transform``.

    A ``TransformerMixin``, so that scikit-learn wraps :meth:`transform` for
    ``set_output`` (pandas or polars frames) where it is defined, here.
    """

    def _forward_blocks(self, X, part, each_block=None):
        """``part(rows)`` for blocks of rows of ``X``, as float64 on the CPU.

        ``part`` is the network or a piece of it; ``each_block`` maps every block
        (float64, CPU) to what is kept of it, so that ``predict`` keeps labels
        rather than all the outputs.
        """
        check_is_fitted(self)
        check_no_categorical(X, type(self).__name__)
        X = validate_data(self, X, accept_sparse="csr", dtype="numeric", reset=False)
        check_float32_range(X)
        module = self.net_.module_
        device = module_device(module)
        criterion = self.net_.criterion_
        rows_per_block = evaluation_rows(self.loss_function_.n_outputs(criterion.n_targets))
        dtype = autocast_dtype(self.inference_precision, device)
        was_training = module.training
        module.eval()
        parts = []
        try:
            with torch.no_grad():
                for rows in iterate_rows(as_feature_tensor(X, device), rows_per_block, device):
                    with forward_precision(dtype, device):
                        block = part(rows)
                    block = block.to(device="cpu", dtype=torch.float64)
                    parts.append(block if each_block is None else each_block(block))
        finally:
            module.train(was_training)
        return torch.cat(parts)

    def _outputs(self, X, each_block=None):
        check_is_fitted(self)
        return self._forward_blocks(X, self.net_.module_, each_block)

    def _hidden_features(self):
        check_is_fitted(self)
        features = getattr(self.net_.module_, "features", None)
        if not isinstance(features, torch.nn.Module):
            raise AttributeError(
                f"transform needs a module with a `features` submodule (the part before "
                f"the output layer); {type(self.net_.module_).__name__} has none. The "
                "default MLP has one."
            )
        return features

    @property
    def _n_features_out(self):
        # The width of the last hidden layer, read off a one-row probe.
        features = self._hidden_features()
        probe = torch.zeros(1, self.n_features_in_, device=module_device(self.net_.module_))
        was_training = features.training
        features.eval()
        try:
            with torch.no_grad():
                return int(features(probe).shape[1])
        finally:
            features.train(was_training)

    def transform(self, X):
        """The last hidden layer: what the network's output layer sees.

        A fitted estimator is then an ordinary scikit-learn transformer, usable as
        a feature extractor (``AnalyticIncrementalClassifier(backbone=...)``, a
        ``Pipeline`` step). ``set_output(transform="pandas")`` (or ``"polars"``)
        returns a data frame whose columns are :meth:`get_feature_names_out`
        (``robustlossclassifier0``, ``robustlossclassifier1``, ...).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to embed.

        Returns
        -------
        ndarray of shape (n_samples, n_hidden)
            ``module.features(X)`` as float64.
        """
        return self._forward_blocks(X, self._hidden_features()).numpy()
