"""Which jobs of a sweep train together as one stacked model, and whether stacking pays.

``hydra/launcher=vectorized`` (hydra_plugins/lucas2019_launcher) trains every group of jobs that
differ only in :data:`VARYING_KEYS` as one stacked model (:mod:`lucas2019.stacked`) and runs every
other job on its own, as ``local_parallel`` would. This module decides the groups: pure functions
of the jobs' resolved configs as plain nested dicts without ``run_dir``
(:func:`lucas2019.config.job_values`, :attr:`lucas2019.config.RunConfig.job`), testable without
Hydra.

A job is stackable when the stacked trainer supports everything it asks for
(:func:`unsupported`); stackable jobs whose configs agree on every key but :data:`VARYING_KEYS`
form a group. Whether a group is trained stacked follows the launcher key ``stack``:
'never', 'always', or 'auto', the rule of :func:`stacking_pays`.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lucas2019 import data
from lucas2019.mitigations import MITIGATIONS

#: the keys in which members of one group may differ: each member's own σ² (fixed, or initial
#: when learned) and seed (initialisation and training noise; dataset.subset_seed fixes the data)
VARYING_KEYS = ("likelihood.sigma2", "seed")
#: values of the launcher key ``stack``
STACK_MODES = ("auto", "always", "never")
#: what the stacked trainer supports; anything else runs on its own
STACKABLE_MODELS = ("mlp_vae", "linear_vae", "linear_decoder")
STACKABLE_LIKELIHOODS = ("gaussian_fixed", "gaussian_learned", "gaussian_optimal")
#: stack=auto on CPU stacks a group only if one member's training step costs at most this many
#: MFLOP (:func:`step_mflop`). Why: stacking saves per-operation overhead, not arithmetic, so it
#: pays only while a member's matmuls are too small to keep a core busy; from the cpu scale's
#: digits model up, one run's step already reaches about half of a core's fp32 GEMM rate, and the
#: stacked step's activations (members x examples x width) stream from memory where one run's
#: stay in cache. Stacked steps over one member after another (11 members, one thread, full batch;
#: digits MLP unless noted): 2.41x at 17 MFLOP, 1.68x at 47, 1.29x at 70, 1.13x at 117, 1.02x at
#: 83 (1,000 examples, 64/32 widths); with freed memory kept for the next step
#: (:mod:`lucas2019.allocator`), 0.93x at 233 (1,000 examples, the cpu scale), 0.94x at 664
#: (256/128 widths) and 0.74x at 3,262 (MNIST-sized), on a shared machine. On idle cores the
#: whole Figure 5 group at 233 MFLOP, 2,000 steps (scripts/bench_grid.py): 1.03x.
CPU_MAX_STEP_MFLOP = 150.0


@dataclass(frozen=True)
class Unit:
    """Jobs (indices into the launch's job list) trained in one process: ``stacked`` (one
    stacked model) or one job on its own; ``reason`` says why, for the launch's log."""

    jobs: tuple[int, ...]
    stacked: bool
    reason: str


def unsupported(job: Mapping[str, Any]) -> str | None:
    """Why the stacked trainer cannot train ``job`` (a job's config, plain); None if it can."""
    model, likelihood = job["model"]["name"], job["likelihood"]
    if model not in STACKABLE_MODELS:
        return f"model={model} is not stacked (stacked: {', '.join(STACKABLE_MODELS)})"
    if likelihood["name"] not in STACKABLE_LIKELIHOODS:
        return (
            f"likelihood={likelihood['name']} is not stacked (stacked: "
            f"{', '.join(STACKABLE_LIKELIHOODS)})"
        )
    refusal = MITIGATIONS[job["mitigation"]["name"]].stack_refusal
    if refusal is not None:
        return f"mitigation={job['mitigation']['name']} is not stacked: {refusal}"
    if job["logger"]["name"] != "none":
        return "logger=wandb is not stacked (one W&B run per process)"
    return None


def group_key(job: Mapping[str, Any]) -> str:
    """The job's config less :data:`VARYING_KEYS`, as canonical JSON: jobs with equal keys may
    share a group."""
    rest = copy.deepcopy(dict(job))
    for key in VARYING_KEYS:
        *parents, leaf = key.split(".")
        node = rest
        for parent in parents:
            node = node[parent]
        node.pop(leaf, None)
    return json.dumps(rest, sort_keys=True, default=str)


def step_mflop(job: Mapping[str, Any]) -> float | None:
    """One member's training step in MFLOP, estimated from the model's linear maps: 6 FLOP per
    multiply-add (2 forward, 4 backward) per example of the batch, the decoder once per latent
    sample. None when the batch size is unknown before loading (a whole split, full batch)."""
    sizes = [n for n in (job["dataset"]["n_train"], job["optim"]["batch_size"]) if n is not None]
    if not sizes:
        return None
    examples = min(sizes)
    d = data.SOURCES[job["dataset"]["name"]].data_dim(job["dataset"]["options"])
    model = job["model"]
    k = model["latent_dim"]
    if model["name"] == "linear_vae":
        encoder, decoder = d * k, k * d
    else:
        widths = [d, *model["encoder_hidden"]]
        encoder = _chain_macs(widths) + 2 * widths[-1] * k  # trunk, then the mean and logvar heads
        decoder = _chain_macs([k, *model.get("decoder_hidden", []), d])
    macs = encoder + job["trainer"]["n_samples"] * decoder
    return 6.0 * examples * macs / 1e6


def _chain_macs(widths: Sequence[int]) -> int:
    """Multiply-adds per example of the linear layers widths[0] -> widths[1] -> ..."""
    return sum(a * b for a, b in itertools.pairwise(widths))


def stacking_pays(job: Mapping[str, Any], cuda: bool) -> tuple[bool, str]:
    """stack=auto's rule for a group of jobs like ``job``: stack on a GPU (``cuda``: the job
    trains on one), and on CPU only up to :data:`CPU_MAX_STEP_MFLOP` per member step. Returns
    the decision and its reason."""
    if cuda:
        return True, "on a GPU"
    mflop = step_mflop(job)
    if mflop is None:
        return False, "on CPU with a batch size unknown before loading the data"
    verdict = "≤" if mflop <= CPU_MAX_STEP_MFLOP else ">"
    reason = f"on CPU at {mflop:.0f} MFLOP per member step ({verdict} {CPU_MAX_STEP_MFLOP:.0f})"
    return mflop <= CPU_MAX_STEP_MFLOP, reason


def on_gpu(job: Mapping[str, Any], cuda_available: bool) -> bool:
    """Whether the job trains on a GPU: device cuda, or auto where one is available."""
    device = str(job["device"])
    return device.startswith("cuda") or (device == "auto" and cuda_available)


def plan(
    jobs: Sequence[Mapping[str, Any] | None],
    stack: str = "auto",
    workers: int = 1,
    cuda_available: bool = False,
) -> list[Unit]:
    """The units that train ``jobs`` (the jobs' configs, plain; None: a config that could not be
    read, run on its own so that its job reports the error), in the order of their first job.

    ``stack`` is one of :data:`STACK_MODES`. A stacked group on CPU is split into up to
    ``workers`` units of nearly equal size, so that every worker process has a share (a share of
    one job runs on its own); on a GPU a group is one unit. ``cuda_available``: whether
    device=auto trains on a GPU where the units run.
    """
    if stack not in STACK_MODES:
        raise ValueError(
            f"hydra.launcher.stack={stack!r} is invalid: expected one of {STACK_MODES}. "
            "Set it on the command line, e.g. hydra.launcher.stack=auto."
        )
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers!r}.")
    groups: dict[str, list[int]] = {}
    units: list[Unit] = []
    for i, job in enumerate(jobs):
        reason = "its config could not be read" if job is None else unsupported(job)
        if reason is not None:
            units.append(Unit((i,), False, reason))
        else:
            groups.setdefault(group_key(job), []).append(i)
    for members in groups.values():
        units.extend(_group_units(members, jobs[members[0]], stack, workers, cuda_available))
    return sorted(units, key=lambda unit: unit.jobs[0])


def _group_units(
    members: list[int], job: Mapping[str, Any], stack: str, workers: int, cuda_available: bool
) -> list[Unit]:
    """The units of one group of stackable jobs alike but for :data:`VARYING_KEYS`."""
    if len(members) == 1:
        return [Unit((members[0],), False, "no other job differs from it only in σ² and seed")]
    gpu = on_gpu(job, cuda_available)
    stacked, reason = (stack == "always", f"stack={stack}")
    if stack == "auto":
        stacked, reason = stacking_pays(job, gpu)
    if not stacked:
        return [Unit((i,), False, f"not stacked: {reason}") for i in members]
    shares = 1 if gpu else min(workers, len(members))
    size, extra = divmod(len(members), shares)
    units, start = [], 0
    for share in range(shares):
        end = start + size + (share < extra)
        part = tuple(members[start:end])
        units.append(
            Unit(part, True, f"stacked: {reason}")
            if len(part) > 1
            else Unit(part, False, f"its share of a stacked group is one job ({reason})")
        )
        start = end
    return units
