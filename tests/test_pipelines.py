"""The first hour in a pipeline: pandas and polars output of ``transform``, data frames in."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skloss import AnyLossClassifier, EnsLossClassifier, RobustLossClassifier

pytestmark = [
    pytest.mark.usefixtures("single_torch_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

ESTIMATORS = [RobustLossClassifier, AnyLossClassifier, EnsLossClassifier]


@pytest.fixture(scope="module")
def frame():
    X, y = load_iris(return_X_y=True, as_frame=True)
    binary = y < 2
    X, y = X[binary], y[binary]
    return X.set_axis([f"row{i}" for i in range(len(X))]), y.to_numpy()


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_pipeline_set_output_pandas_gives_named_hidden_columns(frame, cls):
    X, y = frame
    pipe = make_pipeline(StandardScaler(), cls(hidden_layer_sizes=(5,), max_iter=2))
    pipe.set_output(transform="pandas").fit(X, y)
    out = pipe.transform(X)
    prefix = cls.__name__.lower()
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"{prefix}{i}" for i in range(5)]
    assert list(out.index) == list(X.index)  # the rows keep their labels
    np.testing.assert_array_equal(out.to_numpy(), pipe[-1].transform(pipe[0].transform(X)))


def test_set_output_polars(frame):
    pl = pytest.importorskip("polars")
    X, y = frame
    clf = RobustLossClassifier(hidden_layer_sizes=(3,), max_iter=2).set_output(transform="polars")
    out = clf.fit(X, y).transform(X)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == [f"robustlossclassifier{i}" for i in range(3)]


def test_column_transformer_with_pandas_output_feeds_the_estimator(frame):
    X, y = frame
    columns = list(X.columns)
    prep = ColumnTransformer([("scale", StandardScaler(), columns)])
    pipe = make_pipeline(prep, RobustLossClassifier(hidden_layer_sizes=(4,), max_iter=2))
    pipe.set_output(transform="pandas").fit(X, y)
    assert list(pipe[-1].feature_names_in_) == [f"scale__{c}" for c in columns]
    assert pipe.predict(X).shape == (len(y),)
