"""KL weight (β) schedules: constant, or linear annealing (the paper's Table 1 ablation)."""

from __future__ import annotations

import math
import numbers


def kl_weight(step: int, beta: float = 1.0, anneal_steps: int = 0, beta0: float = 0.0) -> float:
    """The KL weight at optimiser step ``step`` (0-based).

    anneal_steps == 0: the constant ``beta``. Otherwise linear from ``beta0`` at step 0 to ``beta``
    at step ``anneal_steps``, then ``beta`` for every later step.
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"step must be an int >= 0 (0-based optimiser step); got {step!r}.")
    if (
        isinstance(anneal_steps, bool)
        or not isinstance(anneal_steps, numbers.Integral)
        or anneal_steps < 0
    ):
        raise ValueError(
            f"anneal_steps must be an int >= 0 (0 = no annealing); got {anneal_steps!r}."
        )
    for name, value in (("beta", beta), ("beta0", beta0)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite float >= 0; got {value!r}.")
    if anneal_steps == 0 or step >= anneal_steps:
        return float(beta)
    return float(beta0 + (beta - beta0) * step / anneal_steps)
