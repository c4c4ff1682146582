"""Checks shared by every loss (``skloss.losses._validation``): hyperparameters at
their boundaries, class indices outside the logits.

Each family's bad hyperparameters are in its own file (``test_validate_names_the_bad_parameter``);
a bad call of every registered loss is in tests/losses/test_properties.py.
"""

import numpy as np
import pytest
import torch

from skloss.losses import GCE, NCERCE, SCE, CompSum, CrossEntropy, Focal
from skloss.losses.metric import AnyLoss

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def test_valid_boundary_values_pass():
    for loss in (
        CrossEntropy(0.0),
        CrossEntropy(1.0),
        CompSum(0),
        CompSum(np.float64(2.0)),
        GCE(1.0),
        GCE(1e-6),
        Focal(0.0, alpha=[0.0, 1.0]),
        Focal(alpha=np.float32(0.25)),
        SCE(alpha=0.0, beta=1.0),
        NCERCE(alpha=0.0, beta=1.0),
    ):
        loss.validate()


@pytest.mark.parametrize(
    "logits, target, bound",
    [
        (torch.zeros(3, 3), torch.tensor([0, 3, 1]), r"index 3, outside the valid range \[0, 3"),
        (torch.zeros(3, 3), torch.tensor([0, -1, 1]), r"index -1, outside the valid range \[0, 3"),
        (torch.zeros(2, 1), torch.tensor([0, 2]), r"index 2, outside the valid range \[0, 2"),
    ],
)
def test_target_out_of_range_is_a_value_error(logits, target, bound):
    loss = AnyLoss() if logits.shape[1] == 1 else CrossEntropy()
    with pytest.raises(ValueError, match="target holds class " + bound):
        loss(logits, target)
