"""Train a group of runs that differ only in σ² and seed as one stacked model, each into its own
run folder.

Each member is prepared exactly as :func:`lucas2019.trainer.train` prepares a run
(:func:`lucas2019.trainer.prepare`: the same seeded initialisation and run-folder rules:
reuse, resume, extend or refuse, each member on its own), and its training noise comes from its
own generator, which starts from the global RNG state its separate run would draw from. The group
trains in the normal trainer's loop (:class:`lucas2019.training_loop.TrainingLoop`: the step
sequence, σ² switch, divergence, rows, checkpoints and preemption), with this module's step in
place of plain autograd: ``torch.func.vmap`` over the members' stacked parameters of
:meth:`lucas2019.trainer.TrainingRun.objective`, with each member's own batch and noise; one
backward pass and one step of the normal trainer's optimisers on the stacked tensors, whose Adam
(and SGD) step is elementwise, so each member follows its own optimiser. For metrics rows,
checkpoints and result.json each member's slice is copied back into its own model and optimisers
and the normal trainer's code writes them, so a member's folder is the folder its separate run
writes (numbers equal to float rounding: batched matmuls round differently), its checkpoints load
in a normal run and the reverse; result.json's ``launcher`` is ``'vectorized'``.

A member whose loss or ELBO is not finite is marked ``diverged`` and leaves the stack, with its
parameters and optimiser state as the normal trainer would leave them and its last good
checkpoint; the others go on unchanged. Members resumed from checkpoints at different steps join
the stack when the group reaches their step. On a GPU matmuls run in full fp32 (TF32 off: σ² down
to 1e-4 needs the precision); on CPU freed activations stay in the process for the next step
(:mod:`lucas2019.allocator`). What can be stacked is decided by :mod:`lucas2019.grouping`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from lucas2019 import grouping, trainer
from lucas2019.allocator import keep_freed_memory
from lucas2019.config import RunConfig
from lucas2019.tracking import Tracker
from lucas2019.training_loop import Preempted, TrainingLoop, stop_on_signals

log = logging.getLogger(__name__)


@dataclass
class Member:
    """One run of a group: its validated config, run folder (None: the config's ``run_dir``),
    tracker, and the context that its own work (preparing, metrics rows, checkpoints, result)
    runs in, e.g. its Hydra job's config and log file."""

    run: RunConfig
    run_dir: Path | None = None
    tracker: Tracker | None = None
    context: Callable[[], AbstractContextManager] = field(default=contextlib.nullcontext)


def check_group(runs: Sequence[RunConfig]) -> None:
    """Raise ValueError unless the configs can be trained as one stacked group: every one
    supported (:func:`lucas2019.grouping.unsupported`) and all alike but for
    :data:`lucas2019.grouping.VARYING_KEYS`."""
    jobs = [run.job for run in runs]
    for i, job in enumerate(jobs):
        reason = grouping.unsupported(job)
        if reason is not None:
            raise ValueError(f"member {i} cannot be stacked: {reason}. Train it on its own.")
    keys = [grouping.group_key(job) for job in jobs]
    for i, key in enumerate(keys):
        if key != keys[0]:
            raise ValueError(
                f"members 0 and {i} differ in more than {', '.join(grouping.VARYING_KEYS)}; a "
                "group shares every other key. Group the jobs with lucas2019.grouping.plan."
            )


def train_group(members: Sequence[Member]) -> list[dict | Exception]:
    """Train the members' runs as one stacked model; each writes the run folder that
    :func:`lucas2019.trainer.train` would.

    Returns, per member, its result dict (as ``train`` returns it: trained, or reused from its
    folder) or the exception that ended it (missing data files, a refused folder, unreadable
    checkpoints, or an error while training, which ends the members still training). Raises
    ValueError before any work if the configs cannot be stacked together (:func:`check_group`),
    and :class:`lucas2019.trainer.Preempted` after SIGTERM/SIGUSR1, once every member training has
    saved a checkpoint.
    """
    check_group([m.run for m in members])
    outcomes: list[dict | Exception | None] = [None] * len(members)
    runs: dict[int, trainer.Run] = {}
    for i, member in enumerate(members):
        with member.context():
            try:
                run = trainer.prepare(member.run, member.run_dir, member.tracker)
            except Exception as error:
                log.warning("not trained: %s", error)
                outcomes[i] = error
                continue
        if isinstance(run, dict):
            outcomes[i] = run
            continue
        run.training.noise_rng = _global_stream(run.training.x_train.device)
        runs[i] = run
    if runs:
        loop = TrainingLoop(
            {i: run.training for i, run in runs.items()},
            _Stack,
            finish=lambda i: _finish(runs[i]),
            context=lambda i: members[i].context(),
        )
        try:
            with fp32_matmuls(), keep_freed_memory(), stop_on_signals() as stop:
                loop.run(stop)
        except Preempted:
            raise
        except Exception as error:
            log.exception("the stacked group failed")
            for i in runs:  # those the loop finished keep their results, below
                outcomes[i] = error
        for i, outcome in loop.results.items():
            outcomes[i] = outcome
    return outcomes


def _finish(run: trainer.Run) -> dict | Exception:
    """A member's result.json (the normal trainer's finish), or the error that stopped it."""
    try:
        return run.finish(launcher=trainer.STACKED_LAUNCHER)
    except Exception as error:
        log.exception("finishing the run failed")
        return error


def _global_stream(device: torch.device) -> torch.Generator:
    """A generator in the global RNG state of ``device``: the stream a normal run draws its
    training noise from next."""
    if device.type == "cpu":
        generator = torch.Generator()
        generator.set_state(torch.get_rng_state())
    else:
        generator = torch.Generator(device=device)
        generator.set_state(torch.cuda.get_rng_state(device))
    return generator


@contextlib.contextmanager
def fp32_matmuls() -> Iterator[None]:
    """TF32 off on CUDA within the block (it rounds matmul inputs to 10 mantissa bits)."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32
    matmul.allow_tf32 = cudnn.allow_tf32 = False
    try:
        yield
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved


class _Objective(nn.Module):
    """A run's training objective as a module over its model and likelihood, so that
    ``torch.func.functional_call`` evaluates it at any member's parameters."""

    def __init__(self, run: trainer.TrainingRun) -> None:
        super().__init__()
        self.model, self.likelihood = run.model, run.likelihood
        self.objective = run.objective  # a bound method of the run, which holds these modules

    def forward(
        self, x: torch.Tensor, noise: torch.Tensor | None, beta: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, d) and noise ε (S, n, k) -> (loss, expected_sse (n,)), as a normal run's step."""
        with _given_noise(self.model, noise):
            loss, terms = self.objective(x, beta)
        return loss, terms["expected_sse"]


@contextlib.contextmanager
def _given_noise(model: nn.Module, noise: torch.Tensor | None) -> Iterator[None]:
    """Within the block, ``model.sample_latents`` uses ``noise`` for its ε ~ N(0, I)."""
    if noise is None:
        yield
        return
    model.sample_latents = lambda mu, logvar, *_, **__: mu + torch.exp(0.5 * logvar) * noise
    try:
        yield
    finally:
        del model.sample_latents


def _draws_noise(model: nn.Module) -> bool:
    """Whether the model's objective samples latents: all but the closed-form linear ELBO."""
    return getattr(model, "objective", None) != "analytic"


class _Stack:
    """The step of a group (:class:`lucas2019.training_loop.Step`): the stacked parameters
    (leading dimension: member) and optimisers of some members' runs; the runs' own models and
    optimisers are updated by :meth:`unstack`."""

    def __init__(self, runs: list[trainer.TrainingRun]) -> None:
        self.runs = runs
        lead = runs[0]
        self.draws_noise = _draws_noise(lead.model)
        members = [_Objective(run) for run in runs]
        self.objective = members[0]  # evaluated at every member's parameters in turn
        params = [dict(m.named_parameters()) for m in members]
        self.params = {
            name: torch.stack([p[name].detach() for p in params]).requires_grad_()
            for name in params[0]
        }
        buffers = [dict(m.named_buffers()) for m in members]
        # σ² (fixed), its initial value (learned), the data mean; the last closed-form σ² of an
        # optimal rule, which each step writes in place (vmap writes each member's slice)
        self.buffers = {name: torch.stack([b[name] for b in buffers]) for name in buffers[0]}
        model_params = [self.params[f"model.{n}"] for n, _ in lead.model.named_parameters()]
        likelihood_params = [
            self.params[f"likelihood.{n}"] for n, _ in lead.likelihood.named_parameters()
        ]
        self.optimizers = trainer.Optimizers(model_params, likelihood_params, lead.s)
        for j, stacked in enumerate(self.optimizers.all):
            _stack_state(stacked, [run.optimizers.all[j] for run in runs])

    def noise(self, batches: Sequence[torch.Tensor]) -> list[torch.Tensor] | None:
        """Each member's ε ~ N(0, I) for this step (S, n, k) from its own generator, drawn as
        ``VAE.sample_latents`` draws it; None for an objective that draws none."""
        if not self.draws_noise:
            return None
        s = self.runs[0].s.n_samples
        return [
            torch.randn(
                (s, x.shape[0], run.model.latent_dim),
                generator=run.noise_rng,
                device=x.device,
                dtype=x.dtype,
            )
            for run, x in zip(self.runs, batches, strict=True)
        ]

    def losses(
        self, batches: Sequence[torch.Tensor], noise: list[torch.Tensor] | None, beta: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's loss (M,) and expected squared errors (M, n) on its batch."""
        shared = all(x is batches[0] for x in batches)  # full batch: one tensor for all
        x = batches[0] if shared else torch.stack(batches)
        noise = None if noise is None else torch.stack(noise)

        def member(params, buffers, x, noise):
            return torch.func.functional_call(self.objective, (params, buffers), (x, noise, beta))

        in_dims = (0, 0, None if shared else 0, None if noise is None else 0)
        return torch.func.vmap(member, in_dims=in_dims)(self.params, self.buffers, x, noise)

    def step(self, losses: torch.Tensor, held: Sequence[torch.Tensor]) -> None:
        """One optimiser step of every member: its loss's gradient lands in its slice."""
        if held:  # grouping.unsupported keeps such mitigations out of a group
            raise ValueError("a stacked step cannot hold a member's parameters; train it alone")
        self.optimizers.zero_grad()
        losses.sum().backward()
        self.optimizers.step()

    def unstack(self, optimizers: bool) -> None:
        """Copy each member's parameters and buffers (and optimiser states, if ``optimizers``)
        into its run."""
        with torch.no_grad():
            for m, run in enumerate(self.runs):
                objective = _Objective(run)
                for name, p in objective.named_parameters():
                    p.copy_(self.params[name][m])
                for name, b in objective.named_buffers():
                    b.copy_(self.buffers[name][m])
        if optimizers:
            for j, stacked in enumerate(self.optimizers.all):
                _unstack_state(stacked, [run.optimizers.all[j] for run in self.runs])


def _pairs(
    stacked: torch.optim.Optimizer, members: list[torch.optim.Optimizer]
) -> Iterator[tuple[torch.Tensor, list[torch.Tensor]]]:
    """(stacked parameter, the members' parameters) in the optimisers' order."""
    groups = zip(stacked.param_groups, *(o.param_groups for o in members), strict=True)
    for group, *member_groups in groups:
        members_params = zip(*(g["params"] for g in member_groups), strict=True)
        yield from zip(group["params"], members_params, strict=True)


def _stack_state(stacked: torch.optim.Optimizer, members: list[torch.optim.Optimizer]) -> None:
    """Load the members' optimiser states into ``stacked``: per-element entries (Adam's moments)
    stacked, shared entries (Adam's step count) taken once; they must agree."""
    for p, ps in _pairs(stacked, members):
        states = [o.state.get(q, {}) for o, q in zip(members, ps, strict=True)]
        if not any(states):
            continue
        state = {}
        for key, value in states[0].items():
            values = [s[key] for s in states]
            if torch.is_tensor(value) and value.shape == ps[0].shape:
                state[key] = torch.stack(values)
            elif all(torch.equal(torch.as_tensor(v), torch.as_tensor(value)) for v in values):
                state[key] = value.clone() if torch.is_tensor(value) else value
            else:
                raise ValueError(
                    f"the members' optimiser states differ in {key!r} ({values}); members are "
                    "stacked only at the same step"
                )
        stacked.state[p] = state


def _unstack_state(stacked: torch.optim.Optimizer, members: list[torch.optim.Optimizer]) -> None:
    """Copy each member's slice of ``stacked``'s state into its own optimiser."""
    for p, ps in _pairs(stacked, members):
        state = stacked.state.get(p)
        if not state:
            continue
        for m, (o, q) in enumerate(zip(members, ps, strict=True)):
            o.state[q] = {
                k: (v[m].clone() if torch.is_tensor(v) and v.shape == p.shape else _copy(v))
                for k, v in state.items()
            }


def _copy(value):
    return value.clone() if torch.is_tensor(value) else value
