"""KL weight (β) schedules: constant, linear annealing (the paper's Table 1 ablation), or cyclical
annealing (Fu et al. 2019, ``mitigation=cyclical_annealing``). Steps are absolute optimiser steps,
so a run extended to more steps keeps its schedule."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


def kl_weight(step: int, beta: float = 1.0, anneal_steps: int = 0, beta0: float = 0.0) -> float:
    """The KL weight at optimiser step ``step`` (0-based).

    anneal_steps == 0: the constant ``beta``. Otherwise linear from ``beta0`` at step 0 to ``beta``
    at step ``anneal_steps``, then ``beta`` for every later step.
    """
    _check_step(step)
    if (
        isinstance(anneal_steps, bool)
        or not isinstance(anneal_steps, numbers.Integral)
        or anneal_steps < 0
    ):
        raise ValueError(
            f"anneal_steps must be an int >= 0 (0 = no annealing); got {anneal_steps!r}."
        )
    _check_weights(beta, beta0)
    if anneal_steps == 0 or step >= anneal_steps:
        return float(beta)
    return float(beta0 + (beta - beta0) * step / anneal_steps)


@dataclass(frozen=True)
class KLSchedule:
    """The trainer keys' KL weight schedule (``trainer.beta``, ``trainer.beta0``,
    ``trainer.kl_anneal_steps``); calling it with a step gives :func:`kl_weight` there."""

    beta: float = 1.0
    beta0: float = 0.0
    anneal_steps: int = 0

    def __call__(self, step: int) -> float:
        return kl_weight(step, beta=self.beta, anneal_steps=self.anneal_steps, beta0=self.beta0)


def cyclical_kl_weight(
    step: int,
    cycles: int,
    cycle_steps: int,
    ramp_ratio: float,
    beta: float = 1.0,
    beta0: float = 0.0,
) -> float:
    """The cyclical KL weight of Fu et al. (2019) at optimiser step ``step`` (0-based).

    ``cycles`` cycles of ``cycle_steps`` steps each: within a cycle at position τ = (step mod
    cycle_steps) / cycle_steps ∈ [0, 1), the weight is beta0 + (beta − beta0)·min(1, τ / R) with
    R = ``ramp_ratio`` ∈ (0, 1]: a linear rise over the first R of the cycle, then ``beta``. From
    step cycles·cycle_steps on (training past the last cycle, e.g. an extended run) it is ``beta``.
    Fu et al. write τ = mod(t − 1, T/M) / (T/M) for 1-based t and T/M = cycle_steps.
    """
    _check_step(step)
    for name, value in (("cycles", cycles), ("cycle_steps", cycle_steps)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an int >= 1; got {value!r}.")
    if not (isinstance(ramp_ratio, numbers.Real) and 0 < ramp_ratio <= 1):
        raise ValueError(
            f"ramp_ratio must be a number in (0, 1] (the share of a cycle spent rising); "
            f"got {ramp_ratio!r}."
        )
    _check_weights(beta, beta0)
    if step >= cycles * cycle_steps:
        return float(beta)
    tau = (step % cycle_steps) / cycle_steps
    return float(beta0 + (beta - beta0) * min(1.0, tau / ramp_ratio))


def _check_step(step: int) -> None:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"step must be an int >= 0 (0-based optimiser step); got {step!r}.")


def _check_weights(beta: float, beta0: float) -> None:
    for name, value in (("beta", beta), ("beta0", beta0)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite float >= 0; got {value!r}.")
