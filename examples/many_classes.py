"""
Many classes: train an MLP without materialising its logits
===========================================================

With ``K`` classes, a batch of ``B`` rows has ``B x K`` logits, and training
keeps them, their log-softmax and their gradient: 3 x 2048 x 20,000 float32
numbers are about 0.5 GB for one batch. :func:`skloss.fused.linear_loss` takes
the features and the last linear layer instead and never forms them
(``backend="chunked"``: blocks of at most 16 MiB, recomputed in the backward
pass), so the memory of a training step stays flat as ``K`` grows.

The example first measures the peak memory of one training step (forward and
backward) for a growing number of classes, materialised against fused, then
trains an MLP on a synthetic 5,000-class problem (noisy copies of random class
prototypes) with the generalized cross-entropy, and reports its accuracy.
"""

import ctypes
import os
import time

import matplotlib.pyplot as plt
import torch

from skloss.fused import linear_loss
from skloss.losses import get_loss
from skloss.modules import MLP

MEMORY_CLASSES = [2_500, 5_000, 10_000, 20_000]  # one training step each
TRAIN_CLASSES, PER_CLASS, EPOCHS = 5_000, 4, 3  # the training run
# sphinx_gallery_start_ignore
if os.environ.get("SKLOSS_EXAMPLE_FAST", "0") not in ("", "0"):
    # tests/test_examples.py only checks that the example runs.
    MEMORY_CLASSES, TRAIN_CLASSES, PER_CLASS, EPOCHS = [500, 1_000], 1_000, 3, 1
# sphinx_gallery_end_ignore
N_FEATURES, HIDDEN, BATCH = 64, 256, 2048
torch.manual_seed(0)

# %%
# Peak memory of one training step
# --------------------------------
#
# The resident-memory peak of the process (Linux's ``VmHWM``, reset before each
# step) above what was resident before the step.


def _use_mmap_for_large_buffers():
    # glibc keeps freed heap memory for reuse; buffers above 64 KiB are mapped and
    # unmapped instead, so the resident size tracks what is alive. Linux only.
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 65536)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _resident_mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(field)


def step_peak_mib(step, *args):
    """Peak resident memory of ``step(*args)`` above what was resident before it."""
    try:
        before = _resident_mib("VmRSS")
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets the peak (VmHWM) to the current size
    except OSError:
        step(*args)
        return float("nan")  # not Linux: no cheap peak-memory counter
    step(*args)
    return _resident_mib("VmHWM") - before


def materialised_step(net, x, y):
    loss(net(x), y).backward()


def fused_step(net, x, y):
    # The fused head: features and the last layer's parameters, not logits.
    linear_loss(
        net.features(x), net.head.weight, net.head.bias, y, loss=loss, backend="chunked"
    ).backward()


_use_mmap_for_large_buffers()
loss = get_loss("gce", q=0.7)
x = torch.randn(BATCH, N_FEATURES)
print(f"peak memory of one training step, batch of {BATCH} rows (MiB above the model):")
print(f"{'classes':>8} {'materialised':>13} {'fused':>7}")
memory = []
for n_classes in MEMORY_CLASSES:
    net = MLP(N_FEATURES, n_classes, hidden_layer_sizes=(HIDDEN,))
    y = torch.randint(0, n_classes, (BATCH,))
    peaks = []
    for step in (materialised_step, fused_step):
        # Gradients are dropped between runs so both start from the same state.
        net.zero_grad(set_to_none=True)
        peaks.append(step_peak_mib(step, net, x, y))
    memory.append(peaks)
    print(f"{n_classes:>8} {peaks[0]:>13.0f} {peaks[1]:>7.0f}")
print("(the fused column grows only by the head's own gradient, K x 256 floats)")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(MEMORY_CLASSES, [m[0] for m in memory], "o-", label="materialised logits")
ax.plot(MEMORY_CLASSES, [m[1] for m in memory], "o-", label="fused (chunked)")
ax.set(xlabel="number of classes K", ylabel="peak memory of one step (MiB)")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Training on a synthetic many-class problem
# ------------------------------------------
#
# Each class is a random prototype; its rows are noisy copies. The training loop
# calls :func:`~skloss.fused.linear_loss` on the network's features and head,
# with ``backend="auto"``, which fuses once a batch's logits pass 16 MiB.

prototypes = torch.randn(TRAIN_CLASSES, N_FEATURES)
y_train = torch.arange(TRAIN_CLASSES).repeat_interleave(PER_CLASS)
X_train = prototypes[y_train] + 0.5 * torch.randn(len(y_train), N_FEATURES)
y_test = torch.arange(TRAIN_CLASSES)
X_test = prototypes + 0.5 * torch.randn(TRAIN_CLASSES, N_FEATURES)

net = MLP(N_FEATURES, TRAIN_CLASSES, hidden_layer_sizes=(HIDDEN,))
optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
start = time.perf_counter()
for epoch in range(EPOCHS):
    order = torch.randperm(len(y_train))
    total = 0.0
    for begin in range(0, len(order), BATCH):
        rows = order[begin : begin + BATCH]
        optimizer.zero_grad(set_to_none=True)
        value = linear_loss(
            net.features(X_train[rows]),
            net.head.weight,
            net.head.bias,
            y_train[rows],
            loss=loss,
            backend="auto",
        )
        value.backward()
        optimizer.step()
        total += value.item() * len(rows)
    print(f"epoch {epoch + 1}: mean training loss {total / len(order):.4f}")
elapsed = time.perf_counter() - start

with torch.no_grad():
    # Prediction needs the logits, a block of test rows at a time.
    predicted = torch.cat(
        [net(X_test[i : i + 1024]).argmax(dim=1) for i in range(0, len(X_test), 1024)]
    )
accuracy = (predicted == y_test).float().mean().item()
print(
    f"{TRAIN_CLASSES} classes, {len(y_train)} training samples, {EPOCHS} epochs in "
    f"{elapsed:.0f} s: test accuracy {accuracy:.3f} (chance {1 / TRAIN_CLASSES:.5f})"
)
