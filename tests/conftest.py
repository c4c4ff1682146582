"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture(scope="module")
def single_torch_thread():
    """One intra-op torch thread for a module, restored afterwards.

    Modules of tiny tensors and networks use it: there a second thread only adds
    synchronisation (spin-waiting), which costs seconds on a loaded 2-core machine.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
