"""Aggressive encoder training (He et al. 2019): while the aggressive phase lasts, encoder-only
steps before each decoder step; the phase ends when I(x; z) stops rising by a set amount."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from omegaconf import MISSING
from torch import nn

from lucas2019 import metrics
from lucas2019.mitigations.base import Mitigation

if TYPE_CHECKING:
    from lucas2019.trainer import TrainingRun

log = logging.getLogger(__name__)


@dataclass
class AggressiveEncoderConfig:
    """``mitigation=aggressive_encoder``: inner encoder steps checked every ``check_every``, at most
    ``max_inner_steps``; the phase ends when I(x; z), computed every ``mi_every`` steps, has
    risen by less than ``mi_min_rise`` nats over the check before at ``mi_patience`` checks in a
    row."""

    name: str = "aggressive_encoder"
    check_every: int = MISSING
    max_inner_steps: int = MISSING
    mi_every: int = MISSING
    mi_patience: int = MISSING
    mi_min_rise: float = MISSING


def inner_encoder_steps(
    encoder_step: Callable[[], float], check_every: int, max_inner_steps: int
) -> int:
    """He et al.'s inner loop: call ``encoder_step`` until the encoder stops improving.

    ``encoder_step()`` updates the encoder on a fresh batch and returns its objective (the negative
    ELBO, nats per example) measured on that batch before the update, so each value is on data
    the encoder had not just been fitted to. Every ``check_every`` steps the mean of the last
    ``check_every`` values is compared with the previous such mean; the loop stops when it is no
    lower, or after ``max_inner_steps`` steps. A non-finite value means the step was not taken
    (the caller's divergence) and ends the loop. Returns the number of steps taken.
    """
    previous, window = math.inf, 0.0
    for taken in range(1, max_inner_steps + 1):
        objective = encoder_step()
        if not math.isfinite(objective):
            return taken - 1
        window += objective
        if taken % check_every == 0:
            current = window / check_every
            if current >= previous:
                return taken
            previous, window = current, 0.0
    return max_inner_steps


def mutual_information_stopped_rising(
    history: Sequence[float], patience: int, min_rise: float
) -> bool:
    """Whether the aggressive phase ends: each of the last ``patience`` values of ``history`` (the
    mutual information at each check, nats, oldest first) rose by less than ``min_rise`` nats
    over the value before it (with ``min_rise`` = 0: did not rise).

    With patience 1 and ``min_rise`` 0 this is He et al.'s rule (the phase ends at the first
    check whose MI is not above the one before). A positive ``min_rise`` also ends a phase whose
    MI only creeps towards its ceiling log n. False while there are ``patience`` values or fewer.
    """
    if len(history) <= patience:
        return False
    recent = range(len(history) - patience, len(history))
    rises = [history[i] - history[i - 1] for i in recent]
    return all(rise <= 0 or rise < min_rise for rise in rises)


def encoder_parameters(model: nn.Module, x: torch.Tensor) -> list[nn.Parameter]:
    """The parameters of ``model`` that its encoder uses: those the encoder's outputs on ``x``
    (a few rows (n, d) suffice) depend on. Works for any VAE without naming its layers."""
    params = [p for p in model.parameters() if p.requires_grad]
    mu, logvar = model.encode(x)
    grads = torch.autograd.grad(mu.sum() + logvar.sum(), params, allow_unused=True)
    return [p for p, g in zip(params, grads, strict=True) if g is not None]


class AggressiveEncoder(Mitigation):
    """The inner encoder loop before each step of the aggressive phase, whose joint step then
    updates only the decoder (and σ²); the MI check every ``mi_every`` steps ends the phase."""

    name: ClassVar[str] = "aggressive_encoder"
    Config: ClassVar[type] = AggressiveEncoderConfig
    stack_refusal: ClassVar[str | None] = (
        "each member's inner encoder loop stops after its own number of steps and its phase "
        "ends at its own step, so the members cannot share one optimiser step"
    )

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.mi_history: list[float] = []  # I(x; z) at each check, nats
        self.end_step: int | None = None  # the step at which the phase ended; None: still on
        self.inner_steps = 0  # encoder-only steps taken in the phase
        self.encoder_params: list[nn.Parameter] = []
        self.decoder_params: list[nn.Parameter] = []

    @classmethod
    def config_problems(cls, node: Any, trainer: Any) -> list[tuple[str, Any, str]]:
        if node.check_every <= node.max_inner_steps:
            return []
        return [
            (
                "mitigation.check_every",
                node.check_every,
                f"at most mitigation.max_inner_steps = {node.max_inner_steps} (no check would run)",
            )
        ]

    @property
    def active(self) -> bool:
        """Whether the aggressive phase is still on."""
        return self.end_step is None

    def bind(self, run: TrainingRun) -> None:
        self.encoder_params = encoder_parameters(run.model, run.x_train[:2])
        encoder_ids = {id(p) for p in self.encoder_params}
        self.decoder_params = [p for p in run.model.parameters() if id(p) not in encoder_ids]

    def before_step(self, run: TrainingRun, beta: float) -> None:
        """He et al.'s inner loop (:func:`inner_encoder_steps`): encoder steps on fresh batches,
        decoder and σ² held, until the encoder's objective stops improving. A non-finite objective
        sets the run's status to diverged without a step."""
        if not self.active:
            return

        def encoder_step() -> float:
            loss, _ = run.objective(run.next_batch(), beta)
            value = float(loss.detach())
            if not math.isfinite(value):
                run.state.status = "diverged"
                return value
            run.optimizers.zero_grad()
            loss.backward()
            for p in self.decoder_params:
                p.grad = None  # Adam skips the parameters without a gradient
            run.optimizers.model.step()
            return value

        c = self.config
        self.inner_steps += inner_encoder_steps(encoder_step, c.check_every, c.max_inner_steps)

    def held_in_joint_step(self) -> Sequence[torch.Tensor]:
        # the decoder's step: the encoder has just had its own
        return self.encoder_params if self.active else ()

    def after_step(self, run: TrainingRun) -> None:
        """Every ``mi_every`` steps of the phase: I(x; z) on the training set (its own seeded
        random numbers), and the end of the phase if it stopped rising by ``mi_min_rise``."""
        step = run.state.step
        if not self.active or step % self.config.mi_every:
            return
        mi = metrics.mutual_information(run.model, run.x_train, seed=run.s.seed + 1)
        self.mi_history.append(mi.nats)
        c = self.config
        if mutual_information_stopped_rising(self.mi_history, c.mi_patience, c.mi_min_rise):
            self.end_step = step
            log.info(
                "step %d: I(x; z) rose by less than %g nats, the aggressive phase ends",
                step,
                c.mi_min_rise,
            )

    def state_dict(self) -> dict[str, Any]:
        return {
            "mi_history": list(self.mi_history),
            "aggressive_end_step": self.end_step,
            "inner_encoder_steps": self.inner_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mi_history = list(state.get("mi_history", []))
        self.end_step = state.get("aggressive_end_step")
        self.inner_steps = int(state.get("inner_encoder_steps", 0))

    def report(self) -> dict[str, Any]:
        return {"inner_encoder_steps": self.inner_steps, "aggressive_end_step": self.end_step}
