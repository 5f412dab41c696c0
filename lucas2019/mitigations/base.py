"""The interface every collapse mitigation implements, and the plain ELBO (``mitigation=none``).

A mitigation can change three things, each through one hook the training loop calls:

- the KL weight β at a step (:meth:`Mitigation.kl_weight`),
- the training loss of a batch, from the ELBO's terms (:meth:`Mitigation.loss`),
- the optimisation around each step (:meth:`Mitigation.before_step`,
  :meth:`Mitigation.held_in_joint_step`, :meth:`Mitigation.after_step`).

Its own state (what a checkpoint must carry to resume it exactly) goes through
:meth:`Mitigation.state_dict`, and what it reports per metrics row and in result.json through
:meth:`Mitigation.report`. The loop never names a mitigation; it calls these hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from lucas2019.schedules import KLSchedule

if TYPE_CHECKING:  # the run in training, for the hooks' signatures only
    from lucas2019.trainer import TrainingRun


@dataclass
class NoneConfig:
    """``mitigation=none``: no keys besides the name."""

    name: str = "none"


class Mitigation:
    """No mitigation: the ELBO with the trainer's β schedule. Subclasses override what they change.

    ``name`` is the config value ``mitigation.name``; ``Config`` is the dataclass of its config node
    (registered as ``mitigation_schema/<name>``), whose instance the constructor receives.
    """

    name: ClassVar[str] = "none"
    Config: ClassVar[type] = NoneConfig
    #: why members of a stacked group (lucas2019.stacked: one step for every member) cannot use
    #: this mitigation; None when they can. In a group the members' own models are brought up to
    #: date only for metrics rows and checkpoints, and one optimiser step updates them all, so a
    #: mitigation whose step hooks (before_step, held_in_joint_step, after_step) read or step a
    #: member's model says here why its members cannot share one step.
    stack_refusal: ClassVar[str | None] = None

    def __init__(self, config: Any) -> None:
        self.config = config

    @classmethod
    def config_problems(cls, node: Any, trainer: Any) -> list[tuple[str, Any, str]]:
        """Rules tying the mitigation's keys to each other or to the ``trainer`` node, checked
        before any data is loaded: a list of (dotted key, value, what is allowed), empty if fine."""
        return []

    def bind(self, run: TrainingRun) -> None:
        """Called once when the run is built (model, data and optimisers exist)."""

    def kl_weight(self, step: int, schedule: KLSchedule) -> float:
        """β at the 0-based optimiser step ``step``; ``schedule`` is the trainer keys' schedule."""
        return schedule(step)

    def loss(self, terms: dict[str, torch.Tensor], beta: float) -> torch.Tensor:
        """The training loss of a batch, nats per example (a scalar tensor): −(rec − β·KL) averaged
        over the batch. ``terms`` are :meth:`lucas2019.models.base.VAE.loss_terms`'s: ``rec`` and
        ``kl`` (n,), ``kl_per_latent`` (n, k)."""
        return -(terms["rec"] - beta * terms["kl"]).mean()

    def before_step(self, run: TrainingRun, beta: float) -> None:
        """Called before each joint step's loss is computed, with its KL weight."""

    def held_in_joint_step(self) -> Sequence[torch.Tensor]:
        """Parameters the coming joint step must leave unchanged (their gradients are dropped)."""
        return ()

    def after_step(self, run: TrainingRun) -> None:
        """Called after each optimiser step (``run.state.step`` counts it)."""

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint carries to resume the mitigation exactly."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""

    def report(self) -> dict[str, Any]:
        """The run-schema keys a mitigation reports, in every metrics row and in result.json:
        ``inner_encoder_steps`` (optimiser steps taken besides the joint ones) and
        ``aggressive_end_step`` (the step at which a phase of the mitigation ended, or None)."""
        return {"inner_encoder_steps": 0, "aggressive_end_step": None}
