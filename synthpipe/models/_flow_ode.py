"""Sampling and densities of a flow model: guided velocity fields, fixed-step ODE solvers,
divergences and the log-density by the instantaneous change of variables.

The mathematics is described in :mod:`synthpipe.models.flow`, which trains the velocity
network and calls these to sample (:func:`integrate` from noise to data) and to score rows
(:func:`flow_log_prob` from data back to noise).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from synthpipe.errors import ModelError

#: Fixed-step ODE solvers: name -> velocity evaluations per step.
ODE_METHODS: dict[str, int] = {"euler": 1, "midpoint": 2, "heun": 2}
DIVERGENCES = ("auto", "exact", "hutchinson")

#: ``(x, t) -> v``: a velocity field over a batch ``x`` of shape (n, d) at the scalar time ``t``.
VelocityFn = Callable[[torch.Tensor, float], torch.Tensor]


def guided_velocity(
    model: nn.Module,
    y: torch.Tensor | None,
    *,
    null_class: int,
    guidance_scale: float = 1.0,
) -> VelocityFn:
    """The (possibly guided) velocity field of ``model`` for fixed labels, as ``(x, t) -> v``.

    ``guidance_scale`` 1 is the plain conditional field (one network call per evaluation);
    otherwise ``v_uncond + w (v_cond - v_uncond)`` from one batched call over both labels.
    Without labels (``y`` None) the field is the unconditional one and guidance does not apply.

    Args:
        model: ``model(x, t, y) -> v``.
        y: Class indices (n,), or None for the unconditional field.
        null_class: Index of the unconditional class.
        guidance_scale: Classifier-free guidance weight ``w``.

    Returns:
        A :data:`VelocityFn`.
    """

    def field(x: torch.Tensor, t: float) -> torch.Tensor:
        n = x.shape[0]
        # One scalar time for the whole batch: the model embeds it once.
        tt = torch.tensor(t, device=x.device, dtype=x.dtype)
        if y is None:
            return model(x, tt, torch.full((n,), null_class, dtype=torch.long, device=x.device))
        if guidance_scale == 1.0:
            return model(x, tt, y)
        null = torch.full_like(y, null_class)
        v = model(torch.cat([x, x]), tt, torch.cat([y, null]))
        v_cond, v_uncond = v[:n], v[n:]
        return v_uncond + guidance_scale * (v_cond - v_uncond)

    return field


def _check_solver(method: str, steps: int) -> None:
    if method not in ODE_METHODS:
        raise ModelError(
            f"unknown ODE solver {method!r}", hint=f"use one of {', '.join(ODE_METHODS)}"
        )
    if steps < 1:
        raise ModelError(f"ODE step count must be >= 1, got {steps}", hint="use e.g. 25-100 steps")


@torch.no_grad()
def integrate(
    velocity: VelocityFn,
    x: torch.Tensor,
    *,
    t_start: float = 0.0,
    t_end: float = 1.0,
    steps: int = 50,
    method: str = "heun",
) -> torch.Tensor:
    """Solve ``dx/dt = velocity(x, t)`` from ``t_start`` to ``t_end`` with fixed steps.

    Args:
        velocity: The field.
        x: State at ``t_start``, shape (n, d).
        t_start: Start time (0 = noise).
        t_end: End time (1 = data); smaller than ``t_start`` integrates backwards.
        steps: Number of steps.
        method: ``"euler"`` (1st order), ``"midpoint"`` or ``"heun"`` (2nd order, 2 evaluations
            per step).

    Returns:
        State at ``t_end``.

    Raises:
        ModelError: Unknown method or steps < 1.
    """
    _check_solver(method, steps)
    h = (t_end - t_start) / steps
    for i in range(steps):
        t = t_start + i * h
        k1 = velocity(x, t)
        if method == "euler":
            x = x + h * k1
        elif method == "midpoint":
            x = x + h * velocity(x + 0.5 * h * k1, t + 0.5 * h)
        else:
            k2 = velocity(x + h * k1, t + h)
            x = x + 0.5 * h * (k1 + k2)
    return x


def divergence_exact(
    velocity: VelocityFn, x: torch.Tensor, t: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Velocity and its exact divergence (trace of the Jacobian), per row.

    One backward pass per dimension (a loop over columns, not rows), so use it for small ``d``.
    Rows must not interact inside the network (true for an MLP without batch statistics).

    Returns:
        ``(v, div)`` with shapes (n, d) and (n,), detached.
    """
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        v = velocity(xg, t)
        div = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
        for i in range(x.shape[1]):
            (g,) = torch.autograd.grad(v[:, i].sum(), xg, retain_graph=i < x.shape[1] - 1,
                                       allow_unused=True)
            if g is not None:
                div = div + g[:, i]
    return v.detach(), div.detach()


def divergence_hutchinson(
    velocity: VelocityFn, x: torch.Tensor, t: float, probes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Velocity and Hutchinson's unbiased divergence estimate ``mean_k eps_k^T J eps_k``.

    Args:
        velocity: The field.
        x: Rows (n, d).
        t: Time.
        probes: Rademacher (or Gaussian) probes of shape (k, n, d); one vector-Jacobian product
            per probe.

    Returns:
        ``(v, div)`` with shapes (n, d) and (n,), detached.
    """
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        v = velocity(xg, t)
        div = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
        k = probes.shape[0]
        for j in range(k):
            (g,) = torch.autograd.grad(v, xg, grad_outputs=probes[j], retain_graph=j < k - 1,
                                       allow_unused=True)
            if g is not None:
                div = div + (g * probes[j]).sum(dim=1)
    return v.detach(), (div / k).detach()


def rademacher(shape: tuple[int, ...], *, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Random +-1 entries (the lowest-variance probe distribution for Hutchinson's estimator)."""
    bits = torch.randint(0, 2, shape, device=device, generator=generator)
    return (2 * bits - 1).to(dtype)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """Row-wise ``log N(z; 0, I)``, shape (n,)."""
    return -0.5 * (z.shape[1] * math.log(2 * math.pi) + (z * z).sum(dim=1))


def flow_log_prob(
    velocity: VelocityFn,
    x1: torch.Tensor,
    *,
    steps: int = 50,
    method: str = "heun",
    divergence: str = "auto",
    n_probes: int = 1,
    exact_max_dim: int = 16,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per-row log-density of ``x1`` under the flow that carries N(0, I) at t=0 to t=1.

    Integrates the state and ``d l / dt = div v`` backwards from ``t = 1`` to ``t = 0``; then
    ``log p1(x1) = log N(x0; 0, I) + l(0)`` since ``l(0) = -integral_0^1 div v dt``.

    Args:
        velocity: The field (conditioned on fixed labels already, see :func:`guided_velocity`).
        x1: Rows (n, d).
        steps: ODE steps.
        method: ``"euler"``, ``"midpoint"`` or ``"heun"``.
        divergence: ``"exact"``, ``"hutchinson"``, or ``"auto"`` (exact when
            ``d <= exact_max_dim``).
        n_probes: Hutchinson probes per row (fixed along the trajectory, as in FFJORD).
        exact_max_dim: Threshold for ``"auto"``.
        generator: Random generator for the probes.

    Returns:
        Log-densities, shape (n,).

    Raises:
        ModelError: Unknown method / divergence, or steps < 1.
    """
    _check_solver(method, steps)
    if divergence not in DIVERGENCES:
        raise ModelError(
            f"unknown divergence {divergence!r}", hint=f"use one of {', '.join(DIVERGENCES)}"
        )
    n, d = x1.shape
    use_exact = divergence == "exact" or (divergence == "auto" and d <= exact_max_dim)
    if use_exact:
        def aug(x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
            return divergence_exact(velocity, x, t)
    else:
        if n_probes < 1:
            raise ModelError(f"n_probes must be >= 1, got {n_probes}", hint="use 1 or more")
        probes = rademacher((n_probes, n, d), device=x1.device, dtype=x1.dtype,
                            generator=generator)

        def aug(x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
            return divergence_hutchinson(velocity, x, t, probes)

    h = -1.0 / steps
    x = x1.detach()
    logdet = torch.zeros(n, device=x1.device, dtype=x1.dtype)
    for i in range(steps):
        t = 1.0 + i * h
        v1, d1 = aug(x, t)
        if method == "euler":
            x, logdet = x + h * v1, logdet + h * d1
        elif method == "midpoint":
            v2, d2 = aug(x + 0.5 * h * v1, t + 0.5 * h)
            x, logdet = x + h * v2, logdet + h * d2
        else:
            v2, d2 = aug(x + h * v1, t + h)
            x, logdet = x + 0.5 * h * (v1 + v2), logdet + 0.5 * h * (d1 + d2)
    return standard_normal_log_prob(x) + logdet


