"""Adversarial training losses: smooth adversarial comp-sum, TRADES and PGD training.

Each loss perturbs the batch's inputs within a budget ``epsilon`` by projected
gradient ascent on its own attack objective, then scores the network on the
perturbed inputs. The attack (:func:`projected_gradient_ascent`):

- works in the network's input space, which for tabular data is usually after
  standardisation: ``epsilon`` is then in standard deviations of each feature;
- takes one ``epsilon`` or one per feature; a feature with ``epsilon = 0`` is
  never perturbed (a one-hot or categorical column, an identifier). The set of
  allowed perturbations ``delta`` is ``|delta_j| <= epsilon_j`` (``norm="linf"``)
  or ``sum_j (delta_j / epsilon_j)^2 <= 1`` over the perturbed features
  (``norm="l2"``, an ellipsoid, a ball for one ``epsilon``). The ascent runs in
  the coordinates ``u = delta / epsilon``, where the set is the unit ball of the
  norm and its projection is exact;
- starts from ``x + 0.001 N(0, 1)`` (TRADES's start; its draws come from the
  fit's generator) and takes ``steps`` steps of ``step_size * epsilon``: signed
  gradient steps for L-infinity, normalised gradient steps for L2, each followed
  by the projection;
- runs with every submodule in eval mode (as TRADES does; dropout and batch
  norm statistics do not move) and puts each submodule's mode back after;
- differentiates with respect to the perturbation alone: no gradient is left on
  the parameters, and the inputs tensor is never written to;
- never clamps to ``[0, 1]``: tabular features are not pixels.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ._base import Loss
from ._validation import real_parameter
from .compsum import CompSum

__all__ = [
    "NORMS",
    "AdvCompSum",
    "PGDAdversarialTraining",
    "TRADES",
    "checked_epsilon",
    "eval_mode",
    "label_relative_shift",
    "projected_gradient_ascent",
]

#: The perturbation norms the attacks support.
NORMS = ("linf", "l2")

# TRADES's random start, x + 0.001 N(0, 1): off the clean point, where the
# gradient of a divergence from the clean prediction vanishes.
_START_SCALE = 1e-3


class eval_mode:  # noqa: N801 - used as a function: `with eval_mode(model):`
    """Every submodule of ``model`` in eval mode inside the block, each back to its own after.

    ``model.train(mode)`` would set one mode for all submodules; a user's model
    may keep some in eval mode (a frozen batch norm) while training.

    Parameters
    ----------
    model : torch.nn.Module
        The network.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout())
    >>> _ = model[1].eval()
    >>> with eval_mode(model):
    ...     model.training, model[1].training
    (False, False)
    >>> model.training, model[1].training
    (True, False)
    """

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.modes = [(module, module.training) for module in self.model.modules()]
        self.model.eval()
        return self.model

    def __exit__(self, *exc_info):
        for module, training in self.modes:
            module.training = training


def checked_epsilon(epsilon, owner="epsilon"):
    """``epsilon`` as a float64 array (0-d or 1-d), or a ``ValueError`` naming ``owner``.

    Parameters
    ----------
    epsilon : float or array-like of shape (n_features,)
        The perturbation budget: one non-negative number, or one per feature.
    owner : str, default="epsilon"
        How the error message names the argument.

    Returns
    -------
    numpy.ndarray
        A 0-d array for one number, else a 1-d array.

    Raises
    ------
    ValueError
        If ``epsilon`` is not a finite non-negative number or 1-d array of them.

    Examples
    --------
    >>> checked_epsilon([0.1, 0.0]).tolist()
    [0.1, 0.0]
    """
    if isinstance(epsilon, bool) or isinstance(epsilon, str):
        values = None
    else:
        try:
            values = np.asarray(epsilon)
        except (TypeError, ValueError):
            values = None
    if (
        values is None
        or values.dtype.kind not in "iuf"
        or values.ndim > 1
        or values.size == 0
        or not np.all(np.isfinite(values))
        or np.any(values < 0)
    ):
        raise ValueError(
            f"{owner} must be a finite number >= 0, or a 1-d array of them with one entry "
            f"per feature of the network's input (0 freezes a feature); got {epsilon!r}."
        )
    return values.astype(np.float64)


def _feature_scale(epsilon, inputs, owner="epsilon"):
    """``epsilon`` as a tensor of shape (n_features,) on the inputs' device and dtype."""
    n_features = inputs.shape[1]
    if epsilon.ndim == 1 and epsilon.shape[0] != n_features:
        raise ValueError(
            f"{owner} has {epsilon.shape[0]} entries but the network's input has "
            f"{n_features} features; give one number, or one per input feature (after the "
            "pipeline's transforms: a one-hot encoder adds columns)."
        )
    scale = torch.as_tensor(np.broadcast_to(epsilon, (n_features,)).copy(), dtype=inputs.dtype)
    return scale.to(inputs.device)


def _project(u, norm):
    """The nearest point of the unit ball of ``norm`` to each row of ``u``."""
    if norm == "linf":
        return u.clamp(-1.0, 1.0)
    lengths = torch.linalg.vector_norm(u, dim=1, keepdim=True)
    return u / lengths.clamp(min=1.0)


def _start(inputs, scale, norm, start, generator):
    """The first point of the ascent, in the coordinates ``u = delta / epsilon``."""
    active = scale > 0
    shape, options = inputs.shape, {"device": inputs.device, "dtype": inputs.dtype}
    if start == "clean":
        return torch.zeros(shape, **options)
    if start == "normal":
        noise = _START_SCALE * torch.randn(shape, generator=generator, **options)
        u = torch.where(active, noise / torch.where(active, scale, 1.0), 0.0)
    elif norm == "linf":
        u = 2.0 * torch.rand(shape, generator=generator, **options) - 1.0
    else:  # uniform in the unit ball of the perturbed features
        direction = torch.where(active, torch.randn(shape, generator=generator, **options), 0.0)
        direction = direction / torch.linalg.vector_norm(direction, dim=1, keepdim=True).clamp(
            min=torch.finfo(inputs.dtype).tiny
        )
        n_active = max(int(active.sum()), 1)
        radius = torch.rand((shape[0], 1), generator=generator, **options) ** (1.0 / n_active)
        u = direction * radius
    return _project(torch.where(active, u, 0.0), norm)


def projected_gradient_ascent(
    model,
    inputs,
    objective,
    epsilon,
    *,
    norm="linf",
    steps=10,
    step_size=None,
    generator=None,
    start="normal",
    track=None,
):
    """Find inputs within ``epsilon`` of ``inputs`` that maximise ``objective``, by PGD.

    Parameters
    ----------
    model : torch.nn.Module
        The network, mapping ``(n_samples, n_features)`` to logits. It runs in
        eval mode here; each submodule's mode is restored after.
    inputs : torch.Tensor of shape (n_samples, n_features)
        The clean inputs (never written to).
    objective : callable
        ``objective(logits) -> (n_samples,)`` values to increase, one per row;
        the ascent follows the gradient of their sum, so each row's perturbation
        follows its own value.
    epsilon : float or array-like of shape (n_features,)
        The budget, one number or one per feature (0 freezes a feature).
    norm : {"linf", "l2"}, default="linf"
        ``|delta_j| <= epsilon_j``, or ``sum_j (delta_j / epsilon_j)^2 <= 1``.
    steps : int, default=10
        Ascent steps.
    step_size : float, default=None
        Each step's length as a fraction of ``epsilon``; None gives
        ``2.5 / steps`` (Madry et al.: the boundary is reachable from anywhere
        in the set, with room to move along it).
    generator : torch.Generator, default=None
        The source of the random start, on the inputs' device; None uses the
        global torch RNG.
    start : {"normal", "clean", "uniform"}, default="normal"
        ``x + 0.001 N(0, 1)`` (TRADES: off ``x``, where the gradient of a
        divergence from the clean prediction vanishes), ``x`` itself, or a
        uniform draw in the set (a PGD restart).
    track : callable, default=None
        Called as ``track(points, logits)`` for every point evaluated (the start
        and each step but the last): an evaluation uses it to keep the
        misclassified points the ascent passes through.

    Returns
    -------
    torch.Tensor of shape (n_samples, n_features)
        The last point, detached, in the dtype and on the device of ``inputs``.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 0.0]]))
    ...     _ = model.bias.zero_()
    >>> x = torch.zeros(1, 2)
    >>> def margin(logits):  # class 0 minus class 1: raise it
    ...     return logits[:, 0] - logits[:, 1]
    >>> projected_gradient_ascent(model, x, margin, [0.5, 0.0],
    ...                           generator=torch.Generator().manual_seed(0))
    tensor([[0.5000, 0.0000]])
    """
    epsilon = checked_epsilon(epsilon)
    scale = _feature_scale(epsilon, inputs)
    inputs = inputs.detach()
    if not bool((scale > 0).any()):
        return inputs.clone()
    step = 2.5 / steps if step_size is None else float(step_size)
    u = _start(inputs, scale, norm, start, generator)
    with eval_mode(model), torch.enable_grad():
        for _ in range(steps):
            u.requires_grad_(True)
            points = inputs + u * scale
            logits = model(points)
            (gradient,) = torch.autograd.grad(objective(logits).sum(), u)
            if track is not None:
                track(points.detach(), logits.detach())
            if norm == "linf":
                direction = gradient.sign()
            else:
                length = torch.linalg.vector_norm(gradient, dim=1, keepdim=True)
                direction = gradient / length.clamp(min=torch.finfo(gradient.dtype).tiny)
            u = _project(u.detach() + step * direction, norm)
    return (inputs + u * scale).detach()


def label_relative_shift(natural_logits, adversarial_logits, target):
    """``||Delta_h(x', y) - Delta_h(x, y)||_2`` per row, with ``Delta_h(x, y)_k = h(x)_k - h(x)_y``.

    How far the perturbation moved the scores relative to the labelled class's
    score: the regulariser of the smooth adversarial comp-sum losses.

    Parameters
    ----------
    natural_logits : torch.Tensor of shape (n_samples, n_classes)
        ``h(x)``.
    adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
        ``h(x')``.
    target : torch.Tensor of shape (n_samples,)
        The labels ``y``.

    Returns
    -------
    torch.Tensor of shape (n_samples,)
        One value per row.

    Examples
    --------
    >>> import torch
    >>> shift = label_relative_shift(torch.tensor([[2.0, 1.0, 0.0]]),
    ...                              torch.tensor([[2.5, 0.5, 0.0]]), torch.tensor([0]))
    >>> round(shift.item(), 6)  # ||(0, -1, -0.5)||
    1.118034
    """
    moved = adversarial_logits - natural_logits
    relative = moved - moved.gather(1, target[:, None])
    # The norm's gradient at a zero shift is taken as 0 (torch's subgradient).
    return torch.linalg.vector_norm(relative, dim=1)


def _kl_divergence(natural_logits, adversarial_logits):
    """``KL(softmax(natural) || softmax(adversarial))`` per row, from log-probabilities."""
    log_p = F.log_softmax(natural_logits, dim=1)
    log_q = F.log_softmax(adversarial_logits, dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=1)


class _AdversarialLoss(Loss):
    """A loss of the network on inputs perturbed by an attack of its own.

    A subclass gives the attack's objective (:meth:`attack_objective`) and the
    per-sample loss from the clean and the perturbed logits (:meth:`from_logits`).
    """

    requires = ("model", "inputs", "generator")

    def _validate_attack(self):
        checked_epsilon(self.epsilon, f"{type(self).__name__} parameter 'epsilon'")
        if self.norm not in NORMS:
            raise ValueError(
                f"{type(self).__name__} parameter 'norm' must be one of {NORMS}, got {self.norm!r}."
            )
        steps = self.steps
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise ValueError(
                f"{type(self).__name__} parameter 'steps' must be an integer >= 1, got {steps!r}."
            )
        if self.step_size is not None and not real_parameter(self, "step_size") > 0:
            raise ValueError(
                f"{type(self).__name__} parameter 'step_size' must be None or > 0 (a fraction "
                f"of epsilon), got {self.step_size!r}."
            )

    def attack_objective(self, natural_logits, adversarial_logits, target):
        """What the attack increases, per row.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)``, detached.
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        """
        raise NotImplementedError

    def from_logits(self, natural_logits, adversarial_logits, target):
        """The per-sample loss from the logits at ``x`` and at the perturbed ``x'``.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)``.
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        """
        raise NotImplementedError

    def perturb(self, model, inputs, target, generator=None):
        """The perturbed inputs ``x'`` this loss trains on.

        Parameters
        ----------
        model : torch.nn.Module
            The network (run in eval mode, each submodule's mode restored after).
        inputs : torch.Tensor of shape (n_samples, n_features)
            The clean inputs ``x`` (never written to).
        target : torch.Tensor of shape (n_samples,)
            The labels.
        generator : torch.Generator, default=None
            The source of the random start.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_features)
            Detached, within ``epsilon`` of ``inputs`` in the loss's norm.
        """
        inputs = inputs.detach()
        with eval_mode(model), torch.no_grad():
            natural = model(inputs)

        def objective(logits):
            return self.attack_objective(natural, logits, target)

        return projected_gradient_ascent(
            model,
            inputs,
            objective,
            self.epsilon,
            norm=self.norm,
            steps=self.steps,
            step_size=self.step_size,
            generator=generator,
        )

    def per_sample(self, logits, target, *, model, inputs, generator=None, **context):
        """The loss of each sample at its perturbed input.

        Parameters
        ----------
        logits : torch.Tensor of shape (n_samples, n_classes)
            The network's logits at ``inputs`` (in training, in training mode).
        target : torch.Tensor of shape (n_samples,)
            Class indices.
        model : torch.nn.Module
            The network; it scores the perturbed inputs in its current mode.
        inputs : torch.Tensor of shape (n_samples, n_features)
            The batch's inputs.
        generator : torch.Generator, default=None
            The fit's generator, for the attack's random start.
        **context
            Unused.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            One value per row.
        """
        perturbed = self.perturb(model, inputs, target, generator=generator)
        return self.from_logits(logits, model(perturbed), target)


class AdvCompSum(_AdversarialLoss):
    """Smooth adversarial comp-sum loss (Mao, Mohri and Zhong, 2023).

    ``Phi^tau(h(x) / rho, y) + nu * max_{||x' - x|| <= epsilon}
    ||Delta_h(x', y) - Delta_h(x, y)||_2`` with ``Phi^tau`` the comp-sum loss
    (:class:`~skloss.losses.CompSum`) and ``Delta_h(x, y)_k = h(x)_k - h(x)_y``
    the scores relative to the label's; the maximum is approximated by
    projected gradient ascent (see :func:`projected_gradient_ascent`).

    Parameters
    ----------
    tau : float, default=1.0
        The comp-sum parameter: 1 is the cross-entropy, ``(1, 2]`` the bounded
        members (1.5 is GCE with ``q = 0.5``).
    nu : float, default=1.0
        Weight of the regulariser, ``>= 0``.
    rho : float, default=1.0
        The scale the comp-sum term sees the logits at, ``> 0``.
    epsilon : float or array-like of shape (n_features,), default=0.1
        The perturbation budget in the network's input units (standard
        deviations after a ``StandardScaler``), one number or one per feature;
        0 freezes a feature.
    norm : {"linf", "l2"}, default="linf"
        The perturbation norm.
    steps : int, default=10
        Ascent steps of the attack inside training.
    step_size : float, default=None
        Each step as a fraction of ``epsilon``; None gives ``2.5 / steps``.

    Notes
    -----
    The paper's body was not available to us: the formula follows its
    abstract and the definition above, and the defaults of ``tau``, ``nu``,
    ``rho`` and of the attack inside training (TRADES's: start at
    ``x + 0.001 N(0, 1)``, eval mode, 10 signed steps) are ours, not the paper's.
    The regulariser sees ``h``, not ``h / rho``. The clean logits are not
    detached in the regulariser (as the natural term of TRADES), so it pulls
    ``h(x)`` and ``h(x')`` together from both sides.

    References
    ----------
    .. [1] A. Mao, M. Mohri and Y. Zhong, "Cross-Entropy Loss Functions:
       Theoretical Analysis and Applications", ICML 2023.

    Examples
    --------
    >>> import torch
    >>> loss = AdvCompSum(tau=1.0, nu=1.0)
    >>> natural, perturbed = torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([[2.5, 0.5, 0.0]])
    >>> round(loss.from_logits(natural, perturbed, torch.tensor([0])).item(), 6)
    1.52564
    """

    name = "adv_comp_sum"
    # epsilon, norm and the attack describe the threat, not a fit to tune.
    search_space = {
        "tau": ("float", 1.0, 2.0),
        "nu": ("float", 0.1, 10.0, "log"),
        "rho": ("float", 0.5, 4.0, "log"),
    }

    def __init__(
        self, tau=1.0, nu=1.0, rho=1.0, epsilon=0.1, norm="linf", steps=10, step_size=None
    ):
        self.tau = tau
        self.nu = nu
        self.rho = rho
        self.epsilon = epsilon
        self.norm = norm
        self.steps = steps
        self.step_size = step_size

    def validate(self):
        """Check ``tau >= 0``, ``nu >= 0``, ``rho > 0`` and the attack's parameters."""
        if real_parameter(self, "tau") < 0:
            raise ValueError(f"AdvCompSum parameter 'tau' must be >= 0, got {self.tau!r}.")
        if real_parameter(self, "nu") < 0:
            raise ValueError(f"AdvCompSum parameter 'nu' must be >= 0, got {self.nu!r}.")
        if not real_parameter(self, "rho") > 0:
            raise ValueError(f"AdvCompSum parameter 'rho' must be > 0, got {self.rho!r}.")
        self._validate_attack()

    def attack_objective(self, natural_logits, adversarial_logits, target):
        """The regulariser's shift, which the attack maximises.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)``, detached.
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            One value per row.
        """
        return label_relative_shift(natural_logits, adversarial_logits, target)

    def from_logits(self, natural_logits, adversarial_logits, target):
        """``Phi^tau(h(x) / rho, y) + nu * ||Delta_h(x', y) - Delta_h(x, y)||_2``.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)``.
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            One value per row.
        """
        nll = F.cross_entropy(natural_logits / float(self.rho), target, reduction="none")
        comp_sum = CompSum(tau=self.tau).from_nll(nll)
        shift = label_relative_shift(natural_logits, adversarial_logits, target)
        return comp_sum + float(self.nu) * shift


class TRADES(_AdversarialLoss):
    """TRADES (Zhang et al., 2019): ``CE(h(x), y) + beta KL(p(x) || p(x'))``.

    ``x'`` maximises the KL divergence from the clean prediction within the
    budget, by projected gradient ascent from ``x + 0.001 N(0, 1)`` with the
    network in eval mode, as in the reference code (yaodongyu/TRADES); the
    clean probabilities ``p(x)`` are not detached in the training loss.

    Parameters
    ----------
    beta : float, default=6.0
        Weight of the robustness term, ``>= 0`` (the paper's CIFAR-10 setting).
    epsilon : float or array-like of shape (n_features,), default=0.1
        The perturbation budget in the network's input units, one number or one
        per feature; 0 freezes a feature.
    norm : {"linf", "l2"}, default="linf"
        The perturbation norm.
    steps : int, default=10
        Ascent steps of the attack inside training.
    step_size : float, default=None
        Each step as a fraction of ``epsilon``; None gives ``2.5 / steps``
        (the reference's CIFAR-10 setting is ``0.007 / 0.031 = 0.23`` with 10
        steps).

    Notes
    -----
    Unlike the reference code, nothing is clamped to ``[0, 1]``.

    References
    ----------
    .. [1] H. Zhang, Y. Yu, J. Jiao, E. P. Xing, L. El Ghaoui and M. I. Jordan,
       "Theoretically Principled Trade-off between Robustness and Accuracy",
       ICML 2019.

    Examples
    --------
    >>> import torch
    >>> natural, perturbed = torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([[2.5, 0.5, 0.0]])
    >>> round(TRADES(beta=6.0).from_logits(natural, perturbed, torch.tensor([0])).item(), 5)
    0.88084
    """

    name = "trades"
    search_space = {"beta": ("float", 0.5, 12.0, "log")}

    def __init__(self, beta=6.0, epsilon=0.1, norm="linf", steps=10, step_size=None):
        self.beta = beta
        self.epsilon = epsilon
        self.norm = norm
        self.steps = steps
        self.step_size = step_size

    def validate(self):
        """Check ``beta >= 0`` and the attack's parameters."""
        if real_parameter(self, "beta") < 0:
            raise ValueError(f"TRADES parameter 'beta' must be >= 0, got {self.beta!r}.")
        self._validate_attack()

    def attack_objective(self, natural_logits, adversarial_logits, target):
        """``KL(p(x) || p(x'))`` per row, which the attack maximises.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)``, detached.
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices (unused: TRADES's attack needs no label).

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            One value per row.
        """
        return _kl_divergence(natural_logits, adversarial_logits)

    def from_logits(self, natural_logits, adversarial_logits, target):
        """``CE(h(x), y) + beta KL(p(x) || p(x'))`` per sample.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)``.
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            One value per row.
        """
        ce = F.cross_entropy(natural_logits, target, reduction="none")
        return ce + float(self.beta) * _kl_divergence(natural_logits, adversarial_logits)


class PGDAdversarialTraining(_AdversarialLoss):
    """PGD adversarial training (Madry et al., 2018): ``CE(h(x'), y)``.

    ``x'`` maximises the cross-entropy within the budget, by projected gradient
    ascent with the network in eval mode. The clean logits do not enter the
    loss.

    Parameters
    ----------
    epsilon : float or array-like of shape (n_features,), default=0.1
        The perturbation budget in the network's input units, one number or one
        per feature; 0 freezes a feature.
    norm : {"linf", "l2"}, default="linf"
        The perturbation norm.
    steps : int, default=10
        Ascent steps of the attack inside training.
    step_size : float, default=None
        Each step as a fraction of ``epsilon``; None gives ``2.5 / steps``.

    Notes
    -----
    The attack starts from ``x + 0.001 N(0, 1)``, as the other two losses'
    attacks do, rather than from a uniform draw in the set (Madry et al.): one
    start rule for the three contenders.

    References
    ----------
    .. [1] A. Madry, A. Makelov, L. Schmidt, D. Tsipras and A. Vladu, "Towards
       Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.

    Examples
    --------
    >>> import torch
    >>> natural, perturbed = torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([[1.5, 1.5, 0.0]])
    >>> loss = PGDAdversarialTraining()
    >>> round(loss.from_logits(natural, perturbed, torch.tensor([0])).item(), 6)  # log(2 + e^-1.5)
    0.798916
    """

    name = "pgd_at"
    # Its parameters describe the threat (and the attack's effort), not a fit to tune.
    search_space = {}

    def __init__(self, epsilon=0.1, norm="linf", steps=10, step_size=None):
        self.epsilon = epsilon
        self.norm = norm
        self.steps = steps
        self.step_size = step_size

    def validate(self):
        """Check the attack's parameters."""
        self._validate_attack()

    def attack_objective(self, natural_logits, adversarial_logits, target):
        """``CE(h(x'), y)`` per row, which the attack maximises.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)``, detached (unused).
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            One value per row.
        """
        return F.cross_entropy(adversarial_logits, target, reduction="none")

    def from_logits(self, natural_logits, adversarial_logits, target):
        """``CE(h(x'), y)`` per sample.

        Parameters
        ----------
        natural_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x)`` (unused).
        adversarial_logits : torch.Tensor of shape (n_samples, n_classes)
            ``h(x')``.
        target : torch.Tensor of shape (n_samples,)
            Class indices.

        Returns
        -------
        torch.Tensor of shape (n_samples,)
            One value per row.
        """
        return F.cross_entropy(adversarial_logits, target, reduction="none")
