"""Fixtures shared by the test modules."""

import os

import pytest
import torch

# Triton fixes its interpreter mode when first imported: on a machine without CUDA,
# set it before any test module (or a bad-input row built at collection) can import
# triton, so the kernel tests in tests/fused/test_linear_loss.py run on the CPU in every pytest
# process (as tests/fused/test_linear_loss.py itself does; importing torch does not import triton).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


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


@pytest.fixture
def record_keyword(monkeypatch):
    """``record_keyword(owner, name, keyword)``: pass every call of ``owner.name`` through,
    recording the value of its ``keyword`` argument (a call without it fails the test).

    Returns the list of recorded values, in call order.
    """

    def install(owner, name, keyword):
        seen = []
        original = getattr(owner, name)

        def spy(*args, **kwargs):
            seen.append(kwargs[keyword])
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)
        return seen

    return install
