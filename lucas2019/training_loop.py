"""The one training loop: M runs stepped together, each to its own run folder.

M = 1 for a normal run (:func:`lucas2019.trainer.train`), whose step is plain autograd on its own
model (:class:`AutogradStep`); M > 1 for a stacked group (:mod:`lucas2019.stacked`), whose step
evaluates every member at once with ``torch.func``. :class:`TrainingLoop` owns what is the same
either way: the step sequence, the σ² switch, the KL weight, the mitigation's step hooks, a
non-finite loss (that member stops, the others go on), the metrics rows and checkpoints when due,
and preemption. What is per run (its model, optimisers, batches, noise, state, folder and result)
stays in its :class:`lucas2019.trainer.TrainingRun`.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import torch
from tqdm.auto import tqdm

if TYPE_CHECKING:  # the runs' class, for the signatures only (trainer imports this module)
    from lucas2019.trainer import TrainingRun


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Preempted(RuntimeError):
    """Training stopped on SIGTERM/SIGUSR1 after saving a checkpoint; rerun to resume."""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[list[int]]:
    """Within the block, SIGTERM/SIGUSR1 are recorded (not fatal) in the list it yields, so that a
    training loop can checkpoint and raise :class:`Preempted`."""
    received: list[int] = []
    previous = {}
    try:
        for sig in _STOP_SIGNALS:
            previous[sig] = signal.signal(sig, lambda signum, _: received.append(signum))
    except ValueError:  # not the main thread (e.g. a thread-based launcher): no handlers
        pass
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Step(Protocol):
    """How the loop takes one optimiser step of the runs it was built for (its members, in
    order): their training noise, their losses on their batches, then one update of each."""

    def noise(self, batches: Sequence[torch.Tensor]) -> list[torch.Tensor] | None:
        """Each member's ε ~ N(0, I) for this step, drawn ahead of :meth:`losses` (None: the
        objective draws its own, or none)."""

    def losses(
        self, batches: Sequence[torch.Tensor], noise: list[torch.Tensor] | None, beta: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's training loss (M,), nats per example, and expected squared errors
        (M, n), data units² summed over d, on its batch (n, d) with its noise."""

    def step(self, losses: torch.Tensor, held: Sequence[torch.Tensor]) -> None:
        """One optimiser step of every member from its loss; ``held`` keep their values."""

    def unstack(self, optimizers: bool) -> None:
        """Bring each member's own model (and optimisers, if ``optimizers``) up to date."""


class AutogradStep:
    """One run's step with plain autograd on its own model and optimisers; its training noise is
    drawn from the global RNG, in :meth:`lucas2019.trainer.TrainingRun.objective`."""

    def __init__(self, runs: Sequence[TrainingRun]) -> None:
        (self.run,) = runs

    def noise(self, batches: Sequence[torch.Tensor]) -> None:
        return None

    def losses(
        self, batches: Sequence[torch.Tensor], noise: None, beta: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        loss, terms = self.run.objective(batches[0], beta)
        return loss.unsqueeze(0), terms["expected_sse"].unsqueeze(0)

    def step(self, losses: torch.Tensor, held: Sequence[torch.Tensor]) -> None:
        self.run.optimizers.zero_grad()
        losses[0].backward()
        for tensor in held:
            tensor.grad = None  # so the optimisers' step leaves it unchanged
        self.run.optimizers.step()

    def unstack(self, optimizers: bool) -> None:
        """Nothing to do: the step updates the run's own model and optimisers."""


class TrainingLoop:
    """Trains ``runs`` (index -> run) together until each has reached its ``max_steps`` (the
    same for all) or diverged, and calls ``finish(i)`` for each as soon as it ends, keeping what
    it returns in ``results[i]``.

    ``make_step`` builds the :class:`Step` of the runs training at a time (it is rebuilt when
    one joins or leaves); ``context(i)`` is the context run ``i``'s own work runs in (its rows,
    checkpoints and result, e.g. its Hydra job's log). Runs resumed at different steps join
    when the loop reaches their step.
    """

    def __init__(
        self,
        runs: Mapping[int, TrainingRun],
        make_step: Callable[[list[TrainingRun]], Step],
        finish: Callable[[int], Any],
        context: Callable[[int], AbstractContextManager] = lambda i: contextlib.nullcontext(),
    ) -> None:
        self.runs, self.make_step, self.finish, self.context = runs, make_step, finish, context
        self.waiting = dict(runs)  # runs the loop has not reached yet (resumed further on)
        self.active: list[int] = []  # runs training now, in their step's order
        self.results: dict[int, Any] = {}  # of the runs that ended
        self.stepper: Step | None = None
        self.step = 0
        lead = next(iter(runs.values()))
        self.max_steps = lead.s.max_steps
        self.bar = tqdm(
            total=self.max_steps,
            disable=not lead.s.progress,
            desc="train",
            dynamic_ncols=True,
            leave=False,
        )

    def run(self, stop: list[int]) -> None:
        """Train until every run has ended; ``stop``: the signals received so far (a stop
        checkpoints every run training and raises :class:`Preempted`)."""
        try:
            while self.active or self.waiting:
                if not self.active:
                    self.step = min(run.state.step for run in self.waiting.values())
                    self.bar.n = self.step
                joining = [i for i, run in self.waiting.items() if run.state.step == self.step]
                if joining:
                    for i in joining:
                        del self.waiting[i]
                        self.runs[i].model.train()
                    self.restack(self.active + joining)
                if self.step >= self.max_steps:
                    break
                if stop:
                    self.preempt(stop[0])
                if self.runs[self.active[0]].sigma2_switch_due():
                    self.switch_sigma2()
                self.train_step()
            self.restack([])  # back into the runs' own objects
            for i in self.runs:
                self.end(i)
        finally:
            self.bar.close()

    def train_step(self) -> None:
        """One optimiser step of every run training, and their bookkeeping if due."""
        runs = [self.runs[i] for i in self.active]
        beta = runs[0].kl_weight(self.step)  # the runs share the trainer keys
        for run in runs:
            run.mitigation.before_step(run, beta)
        if self.leave([run.state.status == "diverged" for run in runs]):
            return
        batches = [run.next_batch() for run in runs]
        noise = self.stepper.noise(batches)
        losses, expected_sse = self.stepper.losses(batches, noise, beta)
        finite = torch.isfinite(losses.detach()).tolist()
        if not all(finite):  # those runs diverged before this step: no update
            if self.leave([not ok for ok in finite]):
                return
            batches = [b for b, ok in zip(batches, finite, strict=True) if ok]
            noise = (
                None if noise is None else [e for e, ok in zip(noise, finite, strict=True) if ok]
            )
            losses, expected_sse = self.stepper.losses(batches, noise, beta)
        runs = [self.runs[i] for i in self.active]
        held = [t for run in runs for t in run.mitigation.held_in_joint_step()]
        self.stepper.step(losses, held)
        self.step += 1
        self.bar.update(1)
        for run in runs:
            run.state.step = self.step
            run.mitigation.after_step(run)
        if not (runs[0].row_due() or runs[0].checkpoint_due()):
            return
        self.stepper.unstack(optimizers=runs[0].checkpoint_due())
        for i, sse in zip(self.active, expected_sse, strict=True):
            with self.context(i):
                row = self.runs[i].after_step(beta, sse)
            if row is not None and i == self.active[0]:
                self.bar.set_postfix(
                    elbo=f"{row['elbo']:.4g}", collapsed=f"{row['collapsed_fraction']:.2f}"
                )
        self.leave([self.runs[i].state.status == "diverged" for i in self.active])

    def leave(self, diverged: list[bool]) -> bool:
        """Take the runs marked in ``diverged`` (one flag per active run) out of the step and end
        them; True when none is left."""
        gone = [i for i, d in zip(self.active, diverged, strict=True) if d]
        if gone:
            for i in gone:
                self.runs[i].state.status = "diverged"
            self.restack([i for i in self.active if i not in gone])
            for i in gone:
                self.end(i)
        return not self.active

    def restack(self, active: list[int]) -> None:
        """Bring the runs' own objects up to date, then build the step of ``active``."""
        self.unstack()
        self.active = active
        self.stepper = self.make_step([self.runs[i] for i in active]) if active else None

    def unstack(self) -> None:
        if self.stepper is not None:
            self.stepper.unstack(optimizers=True)
            self.stepper = None

    def switch_sigma2(self) -> None:
        """Change every training run's σ² rule; the runs share the switch step."""
        self.unstack()
        for i in self.active:
            with self.context(i):
                self.runs[i].switch_sigma2()
        self.restack(self.active)

    def preempt(self, signum: int) -> None:
        """Save every training run's checkpoint (those waiting have theirs) and raise."""
        self.restack([])
        for i in self.runs:
            if i not in self.results and i not in self.waiting:
                with self.context(i):
                    self.runs[i].save_checkpoint()
        where = (
            f"checkpoint saved in {next(iter(self.runs.values())).run_dir}"
            if len(self.runs) == 1
            else "each member's checkpoint is saved in its run folder"
        )
        raise Preempted(
            f"stopped by signal {signum} at step {self.step}; {where}, rerun the same command "
            "to resume"
        )

    def end(self, i: int) -> None:
        """Finish run ``i`` (its result.json) once."""
        if i not in self.results:
            with self.context(i):
                self.results[i] = self.finish(i)
