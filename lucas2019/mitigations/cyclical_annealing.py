"""Cyclical KL annealing (Fu et al. 2019): β rises in cycles of linear ramps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omegaconf import MISSING

from lucas2019.mitigations.base import Mitigation
from lucas2019.schedules import KLSchedule, cyclical_kl_weight


@dataclass
class CyclicalAnnealingConfig:
    """``mitigation=cyclical_annealing``: ``cycles`` cycles of ``cycle_steps`` steps, β rising over
    the first ``ramp_ratio`` of each. Absolute steps, so an extended run keeps the schedule."""

    name: str = "cyclical_annealing"
    cycles: int = MISSING
    cycle_steps: int = MISSING
    ramp_ratio: float = MISSING


class CyclicalAnnealing(Mitigation):
    """β from :func:`lucas2019.schedules.cyclical_kl_weight`, between the trainer's β₀ and β."""

    name: ClassVar[str] = "cyclical_annealing"
    Config: ClassVar[type] = CyclicalAnnealingConfig

    @classmethod
    def config_problems(cls, node: Any, trainer: Any) -> list[tuple[str, Any, str]]:
        if trainer.kl_anneal_steps == 0:
            return []
        return [
            (
                "trainer.kl_anneal_steps",
                trainer.kl_anneal_steps,
                "0 with mitigation=cyclical_annealing, whose cycles replace the linear annealing",
            )
        ]

    def kl_weight(self, step: int, schedule: KLSchedule) -> float:
        c = self.config
        return cyclical_kl_weight(
            step, c.cycles, c.cycle_steps, c.ramp_ratio, beta=schedule.beta, beta0=schedule.beta0
        )
