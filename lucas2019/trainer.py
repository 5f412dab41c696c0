"""Train one model from one config into one run folder, resumable and crash-safe.

The run folder holds ``config.yaml`` (resolved), ``metrics.csv`` (one row per evaluation),
``result.json`` (final metrics, read by :mod:`lucas2019.results`) and the last two checkpoints,
each written atomically; :mod:`lucas2019.run_schema` defines the columns and keys, and
:mod:`lucas2019.run_folder` what a rerun into the folder may do (reuse, resume, extend, refuse).
Running the same config in the same folder again continues from the checkpoint and ends with
exactly the parameters and metrics of an uninterrupted run (on CPU): the checkpoint carries the
optimiser, the RNG states and the metric rows so far, and evaluation draws its own random numbers
without touching the training stream.
"""

from __future__ import annotations

import copy
import csv
import io
import logging
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lucas2019 import data, metrics, provenance, run_folder
from lucas2019.config import RunConfig
from lucas2019.io import atomic_write_json, atomic_write_text
from lucas2019.likelihoods import build_likelihood
from lucas2019.mitigations import MITIGATIONS, Mitigation, build_mitigation
from lucas2019.models import build_model, resolve_device
from lucas2019.run_schema import METRICS_CSV_COLUMNS
from lucas2019.schedules import KLSchedule
from lucas2019.tracking import NullTracker, Tracker
from lucas2019.training_loop import AutogradStep, TrainingLoop, stop_on_signals
from lucas2019.training_loop import Preempted as Preempted  # raised by the loop, caught by callers

log = logging.getLogger(__name__)
#: result.json's ``launcher`` of a member of a stacked group (lucas2019.stacked)
STACKED_LAUNCHER = "vectorized"


@dataclass(frozen=True)
class Settings:
    """The config values the training loop reads, typed (the loop reads them at every step)."""

    max_steps: int
    eval_every: int
    checkpoint_every: int
    lr: float
    sigma2_lr: float
    sigma2_optim: str
    sigma2_switch_step: int | None
    sigma2_switch_to: str | None
    batch_size: int | None
    beta: float
    beta0: float
    kl_anneal_steps: int
    mitigation: Any  # the mitigation node's typed object (lucas2019.mitigations, its Config)
    n_samples: int
    eps_grid: np.ndarray
    delta: float
    iw_samples: int
    noise_draws: int
    progress: bool
    seed: int

    @property
    def kl_schedule(self) -> KLSchedule:
        """The trainer keys' KL weight schedule, before any mitigation's change."""
        return KLSchedule(beta=self.beta, beta0=self.beta0, anneal_steps=self.kl_anneal_steps)

    @classmethod
    def from_config(cls, run: RunConfig) -> Settings:
        """Copy the trainer, optimiser and seed values of a validated config."""
        v = run.values
        t, lik, optim, mitigation = v["trainer"], v["likelihood"], v["optim"], v["mitigation"]
        return cls(
            max_steps=int(t["max_steps"]),
            eval_every=int(t["eval_every"]),
            checkpoint_every=int(t["checkpoint_every"]),
            lr=float(optim["lr"]),
            sigma2_lr=float(optim["lr"] if lik["sigma2_lr"] is None else lik["sigma2_lr"]),
            sigma2_optim=str(lik["sigma2_optim"]),
            sigma2_switch_step=lik["sigma2_switch_step"],
            sigma2_switch_to=lik["sigma2_switch_to"],
            batch_size=None if optim["batch_size"] is None else int(optim["batch_size"]),
            beta=float(t["beta"]),
            beta0=float(t["beta0"]),
            kl_anneal_steps=int(t["kl_anneal_steps"]),
            mitigation=MITIGATIONS[mitigation["name"]].Config(**mitigation),
            n_samples=int(t["n_samples"]),
            eps_grid=np.linspace(0.0, float(t["eps_max"]), int(t["eps_points"])),
            delta=float(t["delta"]),
            iw_samples=int(t["iw_samples"]),
            noise_draws=int(t["noise_draws"]),
            progress=bool(t["progress"]),
            seed=int(v["seed"]),
        )


def train(
    run: RunConfig, run_dir: str | Path | None = None, tracker: Tracker | None = None
) -> dict:
    """Train the model the validated config ``run`` describes and write its run folder; return
    the result dict.

    ``run_dir`` defaults to the config's ``run_dir``. A folder that already holds a run of the
    same fingerprint (:mod:`lucas2019.run_folder`) is reused if finished at this length, resumed
    from its checkpoint if stopped, and extended if completed at fewer steps. Raises
    :class:`lucas2019.run_folder.RunRefused` for a folder of another config or a longer run and
    :class:`lucas2019.run_folder.CheckpointUnreadable` when no checkpoint loads (both before the
    folder is written), and :class:`Preempted` after a SIGTERM/SIGUSR1 (checkpoint saved). A
    NaN/inf loss ends the run with ``status='diverged'`` and keeps the last good checkpoint.
    """
    prepared = prepare(run, run_dir, tracker)
    if isinstance(prepared, dict):
        return prepared
    loop = TrainingLoop(
        {0: prepared.training}, AutogradStep, lambda _: prepared.finish(launcher=run.launcher)
    )
    with stop_on_signals() as stop:
        loop.run(stop)
    return loop.results[0]


@dataclass
class Run:
    """A run ready to train (:func:`prepare`): its :class:`TrainingRun`, holding the model,
    likelihood, optimisers and training state (restored from the run folder's checkpoint, if any),
    and its dataset."""

    training: TrainingRun
    dataset: data.Dataset
    config: RunConfig

    def finish(self, launcher: str | None) -> dict:
        """Final evaluation and result.json (``launcher``: how the run was trained); the result."""
        return self.training.finish(
            dataset=self.dataset,
            overrides=list(self.config.overrides),
            experiment=self.config.values["experiment"]["name"],
            launcher=launcher,
        )


def prepare(
    run: RunConfig, run_dir: str | Path | None = None, tracker: Tracker | None = None
) -> Run | dict:
    """Everything :func:`train` does before its first step, with its errors: load the data,
    check the run folder, build the model, likelihood and optimisers (seeded with the config's
    ``seed``), restore the newest checkpoint and write config.yaml.

    A run starting from step 0 records its provenance (:mod:`lucas2019.provenance`, with
    ``run.claims_hash``) and its
    metrics row at step 0, the evaluation of the initial model; a resumed or extended run has both
    from its checkpoint. Returns the folder's finished result when it is reused as is, else the
    :class:`Run`. The global RNG is then the run's training-noise stream (seeded and past the
    initialisation, or the checkpoint's state), which :class:`TrainingLoop` draws from.
    """
    values = run.values
    run_dir = Path(run_dir if run_dir is not None else values["run_dir"]).resolve()
    settings = Settings.from_config(run)
    dataset, x_train_np, x_test_np = data.load_for_run(copy.deepcopy(values["dataset"]))
    fingerprint = run_folder.fingerprint(run, x_train_np, x_test_np)
    rerun = run_folder.check_rerun(run_dir, run, fingerprint)
    if rerun.reuse is not None:
        run_folder.clear_job_error(run_dir)
        return rerun.reuse
    tracker = tracker or NullTracker()
    device = resolve_device(values["device"])
    torch.manual_seed(settings.seed)
    x_train = torch.as_tensor(x_train_np, device=device)
    x_test = None if x_test_np is None else torch.as_tensor(x_test_np, device=device)
    model = build_model(  # the model node is exactly build_model's name, latent_dim and options
        data_dim=dataset.dim,
        image_shape=dataset.image_shape,
        **copy.deepcopy(values["model"]),
    ).to(device)
    model.set_data_mean(x_train.mean(dim=0))
    lik = values["likelihood"]
    likelihood = build_likelihood(
        lik["name"],
        data_dim=dataset.dim,
        sigma2=float(lik["sigma2"]),
        per_dim=bool(lik["per_dim"]),
        min_sigma2=float(lik["min_sigma2"]),
    ).to(device)
    optimizers = Optimizers(model.parameters(), likelihood.parameters(), settings)
    batches = torch.Generator().manual_seed(settings.seed)
    mitigation = build_mitigation(settings.mitigation)
    state = run_folder.load_checkpoint(
        run_dir,
        run,
        fingerprint,
        restore=lambda payload: _restore(
            payload, model, likelihood, optimizers, batches, mitigation
        ),
    )
    if rerun.extends is not None and state is not None:
        state.extended_from = rerun.extends
        log.info("extending the completed run of %d steps to %d", rerun.extends, settings.max_steps)
    elif rerun.extends is not None:
        log.warning("no checkpoint to extend the completed run from: training from step 0")
    run_folder.write_config(run_dir, run, fingerprint)

    loop = TrainingRun(
        settings,
        model,
        likelihood,
        optimizers,
        batches,
        x_train,
        x_test,
        run_dir,
        tracker,
        state or _TrainingState(provenance=provenance.at_start(run.claims_hash)),
        fingerprint,
        mitigation,
    )
    if not loop.state.rows:  # a fresh run (one preempted at step 0 has its row already)
        loop.evaluate_row(loop.kl_weight(0), sigma2_optimal_batch=None)
    return Run(loop, dataset, run)


class Optimizers:
    """Adam for the model; σ²'s own optimiser (Adam or SGD, own learning rate) when σ² is a
    parameter. Adam is per-parameter, so with σ²'s lr equal to the model's this is one Adam.

    ``model_params`` and ``sigma2_params`` are the tensors each optimises: a model's and a
    likelihood's parameters, or their stacked copies (:mod:`lucas2019.stacked`), whose Adam and SGD
    steps are elementwise, so that each slice follows its own optimiser."""

    def __init__(
        self,
        model_params: Iterable[torch.Tensor],
        sigma2_params: Iterable[torch.Tensor],
        s: Settings,
    ) -> None:
        # foreach: each update is one kernel over all parameters, not a Python loop over them
        # (PyTorch's default on CPU); the same arithmetic, bitwise equal parameters, and a few per
        # cent less time per digits step (scripts/bench_optimizer.py measures both)
        self.model = torch.optim.Adam(model_params, lr=s.lr, foreach=True)
        sigma2_params = list(sigma2_params)
        algorithm = torch.optim.Adam if s.sigma2_optim == "adam" else torch.optim.SGD
        self.sigma2 = (
            algorithm(sigma2_params, lr=s.sigma2_lr, foreach=True) if sigma2_params else None
        )
        self.all = [o for o in (self.model, self.sigma2) if o is not None]

    def zero_grad(self) -> None:
        for optimizer in self.all:
            optimizer.zero_grad(set_to_none=True)

    def step(self) -> None:
        for optimizer in self.all:
            optimizer.step()

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "sigma2": None if self.sigma2 is None else self.sigma2.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        if self.sigma2 is not None:
            self.sigma2.load_state_dict(state["sigma2"])

    def parameters(self) -> list[torch.Tensor]:
        return [p for o in self.all for group in o.param_groups for p in group["params"]]


@dataclass
class _TrainingState:
    step: int = 0
    wall_time_s: float = 0.0
    rows: list | None = None
    status: str = "running"
    order: torch.Tensor | None = None  # what is left of the current epoch's minibatch order
    extended_from: int | None = None  # the step count of the completed run this one continues
    provenance: dict | None = None  # of the first start; None: begun before runs recorded it

    def __post_init__(self) -> None:
        self.rows = self.rows or []


class TrainingRun:
    """One run in training: its model, likelihood, optimisers, batches and training noise, and its
    bookkeeping (metrics rows, checkpoints, result.json in its run folder). The step sequence is
    :class:`lucas2019.training_loop.TrainingLoop`'s, over this run alone or a stacked group."""

    def __init__(
        self,
        s: Settings,
        model,
        likelihood,
        optimizers: Optimizers,
        batches,
        x_train,
        x_test,
        run_dir: Path,
        tracker: Tracker,
        state: _TrainingState,
        fingerprint: dict,
        mitigation: Mitigation,
    ) -> None:
        self.s, self.model, self.likelihood, self.optimizers = s, model, likelihood, optimizers
        self.batches, self.x_train, self.x_test = batches, x_train, x_test
        self.run_dir, self.tracker, self.state = run_dir, tracker, state
        self.fingerprint, self.mitigation = fingerprint, mitigation
        self.order = state.order if state.order is not None else torch.empty(0, dtype=torch.long)
        # the generator of a stacked member's training noise (lucas2019.stacked); None: the
        # global RNG, from which loss_terms draws in a run trained alone
        self.noise_rng: torch.Generator | None = None
        self._started = time.perf_counter()
        mitigation.bind(self)

    def wall_time(self) -> float:
        return self.state.wall_time_s + time.perf_counter() - self._started

    def next_batch(self) -> torch.Tensor:
        n, b = self.x_train.shape[0], self.s.batch_size
        if b is None or b >= n:
            return self.x_train
        if self.order.numel() < b:  # a fresh seeded permutation per epoch, drop the remainder
            self.order = torch.randperm(n, generator=self.batches)
        idx, self.order = self.order[:b], self.order[b:]
        return self.x_train[idx.to(self.x_train.device)]

    def sigma2_switch_due(self) -> bool:
        """Whether the σ² rule changes before the coming step (likelihood.sigma2_switch_step)."""
        return self.state.step == self.s.sigma2_switch_step

    def switch_sigma2(self) -> None:
        """Change the σ² rule to ``likelihood.sigma2_switch_to`` (:meth:`switch_mode`)."""
        self.likelihood.switch_mode(self.s.sigma2_switch_to)
        log.info("step %d: σ² is %s from now on", self.state.step, self.s.sigma2_switch_to)

    def row_due(self) -> bool:
        """Whether a metrics row is due after the step just taken (``state.step``)."""
        step = self.state.step
        return step % self.s.eval_every == 0 or step == self.s.max_steps

    def checkpoint_due(self) -> bool:
        """Whether a checkpoint is due after the step just taken (the last step's is finish's)."""
        step = self.state.step
        return step % self.s.checkpoint_every == 0 and step < self.s.max_steps

    def after_step(self, beta: float, expected_sse: torch.Tensor) -> dict | None:
        """The bookkeeping after an optimiser step: the metrics row if one is due (its ELBO not
        finite: status 'diverged', no checkpoint), then the checkpoint if one is due.

        ``beta`` is the step's KL weight, ``expected_sse`` (n,) the step's batch's expected squared
        error per example (data units², summed over d). Returns the row, None if none was due.
        """
        row = None
        if self.row_due():
            sigma2_optimal_batch = float(expected_sse.detach().mean()) / self.model.data_dim
            row = self.evaluate_row(beta, sigma2_optimal_batch)
            if not np.isfinite(row["elbo"]):
                self.state.status = "diverged"
                return row
        if self.checkpoint_due():
            self.save_checkpoint()
        return row

    def kl_weight(self, step: int) -> float:
        """β at optimiser step ``step``: the trainer keys' schedule as the mitigation sets it."""
        return self.mitigation.kl_weight(step, self.s.kl_schedule)

    def objective(self, x: torch.Tensor, beta: float) -> tuple[torch.Tensor, dict]:
        """The training loss on the batch ``x`` (n, d), nats per example (the mitigation's; the
        plain −(rec − β·KL) averaged over the batch without one), and the ELBO terms of
        :meth:`VAE.loss_terms`."""
        terms = self.model.loss_terms(x, self.likelihood, n_samples=self.s.n_samples)
        return self.mitigation.loss(terms, beta), terms

    def evaluate(self, x: torch.Tensor, iw_samples: int = 0) -> dict:
        """Every metric on ``x``; see :func:`lucas2019.metrics.evaluate`."""
        # metrics.evaluate draws from its own seeded generator, so evaluating leaves training's
        # random numbers untouched: what makes a resumed run identical to an uninterrupted one.
        return metrics.evaluate(
            self.model,
            self.likelihood,
            x,
            eps_grid=self.s.eps_grid,
            delta=self.s.delta,
            iw_samples=iw_samples,
            seed=self.s.seed + 1,
        )

    def evaluate_row(self, beta: float, sigma2_optimal_batch: float | None) -> dict:
        """Evaluate the model now, append the metrics row (columns
        :data:`lucas2019.run_schema.METRICS_CSV`) to metrics.csv and the tracker, and return it.
        ``beta`` is the last step's KL weight (the first step's at step 0), ``sigma2_optimal_batch``
        its batch's closed-form σ² (data units²; None at step 0, before any batch)."""
        train = self.evaluate(self.x_train)
        test = self.evaluate(self.x_test) if self.x_test is not None else None
        row = {
            "step": self.state.step,
            "elbo": train["elbo"],
            "rec": train["rec"],
            "kl": train["kl"],
            "beta": beta,
            "sigma2": train["sigma2"],
            "sigma2_optimal": train["sigma2_optimal"],
            "sigma2_optimal_batch": sigma2_optimal_batch,
            "collapsed_fraction": train["collapsed_fraction"],
            "active_units": train["active_units"],
            "mutual_information": train["mutual_information"],
            "mutual_information_ceiling": train["mutual_information_ceiling"],
            "elbo_test": None if test is None else test["elbo"],
            "inner_encoder_steps": self.mitigation.report()["inner_encoder_steps"],
            "wall_time_s": round(self.wall_time(), 3),
        }
        self.state.rows.append(row)
        self.write_metrics()
        self.tracker.log_metrics(row, step=self.state.step)
        return row

    def write_metrics(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRICS_CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(self.state.rows)
        atomic_write_text(self.run_dir / "metrics.csv", buffer.getvalue())

    def save_checkpoint(self) -> None:
        if not all(torch.isfinite(p).all() for p in self.optimizers.parameters()):
            return  # never replace the last good checkpoint with non-finite parameters
        payload = {
            "step": self.state.step,
            "wall_time_s": self.wall_time(),
            "rows": self.state.rows,
            "model": self.model.state_dict(),
            "likelihood": self.likelihood.state_dict(),
            "optimizers": self.optimizers.state_dict(),
            **_rng_states(self.noise_rng),
            "batch_rng": self.batches.get_state(),
            "order": self.order,
            "extended_from": self.state.extended_from,
            "provenance": self.state.provenance,
            "mitigation": self.mitigation.state_dict(),
            run_folder.FINGERPRINT_KEY: self.fingerprint,
        }
        run_folder.save_checkpoint(self.run_dir, payload)

    def objective_noise(self) -> metrics.ObjectiveNoise | None:
        """The training objective's spread over ``noise_draws`` fresh draws at the final
        parameters on the training set (None when off): what a stochastic objective adds to
        every step, which common-random-number evaluation hides."""
        if self.s.noise_draws == 0:
            return None
        return metrics.objective_noise(
            self.model,
            self.likelihood,
            self.x_train,
            n_draws=self.s.noise_draws,
            n_samples=self.s.n_samples,
            seed=self.s.seed,
        )

    def finish(
        self, dataset, overrides: list[str], experiment: str | None, launcher: str | None = None
    ) -> dict:
        diverged = self.state.status == "diverged"
        if not diverged:
            self.save_checkpoint()
        final_train = self.evaluate(self.x_train)
        final_test = (
            self.evaluate(self.x_test, iw_samples=self.s.iw_samples)
            if self.x_test is not None
            else None
        )
        held_out = final_test or {}  # the held-out numbers are null without a held-out set
        noise = self.objective_noise() if not diverged else None
        result = {
            "status": "diverged" if diverged else "completed",
            "step": self.state.step,
            "elbo": final_train["elbo"],
            "rec": final_train["rec"],
            "kl": final_train["kl"],
            "mse": final_train["mse"],
            "sigma2": final_train["sigma2"],
            "sigma2_optimal": final_train["sigma2_optimal"],
            "active_units": final_train["active_units"],
            "collapsed_fraction": final_train["collapsed_fraction"],
            "mutual_information": final_train["mutual_information"],
            "mutual_information_ceiling": final_train["mutual_information_ceiling"],
            "kl_per_latent": _to_list(final_train["kl_per_latent"]),
            "collapse_eps": self.s.eps_grid.tolist(),
            "collapse_curve": _to_list(final_train["collapse_curve"]),
            "elbo_test": None if final_test is None else final_test["elbo"],
            "log_px_test": None if final_test is None else final_test.get("log_px"),
            "objective_noise_draws": None if noise is None else noise.n_draws,
            "objective_elbo_std": None if noise is None else noise.elbo_std,
            "objective_grad_std": None if noise is None else noise.grad_std_norm,
            "active_units_test": held_out.get("active_units"),
            "collapsed_fraction_test": held_out.get("collapsed_fraction"),
            "mutual_information_test": held_out.get("mutual_information"),
            "mutual_information_test_ceiling": held_out.get("mutual_information_ceiling"),
            "latent_dim": int(self.model.latent_dim),
            "data_dim": int(dataset.dim),
            "n_train": int(self.x_train.shape[0]),
            "n_test": 0 if self.x_test is None else int(self.x_test.shape[0]),
            "dataset": dataset.name,
            "preprocess": dataset.preprocess,
            "wall_time_s": round(self.wall_time(), 3),
            "versions": _versions(),
            "overrides": overrides,
            "experiment": experiment,
            "extended_from": self.state.extended_from,
            **self.mitigation.report(),
            "launcher": launcher,
            run_folder.FINGERPRINT_KEY: self.fingerprint,
            **(self.state.provenance or dict.fromkeys(provenance.KEYS)),
        }
        atomic_write_json(self.run_dir / "result.json", result)
        self.tracker.log_final(
            result, model=self.model, x=self.x_train, image_shape=dataset.image_shape
        )
        return result


def _restore(
    payload: dict, model, likelihood, optimizers: Optimizers, batches, mitigation: Mitigation
) -> _TrainingState:
    """Apply a loaded checkpoint to the model, optimisers, RNGs and mitigation; return its training
    state."""
    model.load_state_dict(payload["model"])
    likelihood.load_state_dict(payload["likelihood"])  # includes the σ² rule after a switch
    optimizers.load_state_dict(payload["optimizers"])
    torch.set_rng_state(payload["torch_rng"])
    if "cuda_rng" in payload and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    batches.set_state(payload["batch_rng"])
    mitigation.load_state_dict(payload.get("mitigation", {}))  # absent from older checkpoints
    return _TrainingState(
        step=payload["step"],
        wall_time_s=payload["wall_time_s"],
        rows=payload["rows"],
        order=payload["order"],
        extended_from=payload.get("extended_from"),
        provenance=payload.get("provenance"),  # absent from older checkpoints
    )


def _rng_states(noise: torch.Generator | None) -> dict:
    """A checkpoint's RNG states: ``torch_rng`` (the CPU's) and, with CUDA, ``cuda_rng`` (each
    GPU's). A stacked member's noise generator ``noise`` stands in for its device's global state,
    so that :func:`_restore` continues its stream in a normal run, and the reverse."""
    states = {"torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda_rng"] = torch.cuda.get_rng_state_all()
    if noise is not None and noise.device.type == "cpu":
        states["torch_rng"] = noise.get_state()
    elif noise is not None:
        states["cuda_rng"][noise.device.index] = noise.get_state()
    return states


def _to_list(values: Any) -> list:
    return np.asarray(values, dtype=float).tolist()


def _versions() -> dict:
    import importlib.metadata as md

    packages = ("lucas2019", "torch", "numpy", "scipy", "hydra-core", "wandb")
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return versions
