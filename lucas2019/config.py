"""The configuration schema (Hydra structured configs) and value checks.

The dataclasses below are registered as the schema of the primary configs, so a misspelt key fails
when Hydra composes the config. Value ranges (σ² > 0, lr > 0, ...) are checked by
:func:`validate`, which the entry points call before any data is loaded; every message names the
key's full path, the value that came in and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from lucas2019.data import digits

# The configs live at the repository's top level (the design card's layout); an absolute path works
# for `python -m`, console scripts and tests alike.
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")
DATASETS = ("mnist", "celeba", "digits", "synthetic")
MODELS = ("linear_vae", "mlp_vae", "conv_vae", "linear_decoder")
DIGITS_SPLIT = {"n_train": digits.N_TRAIN, "n_test": digits.N_TEST}  # its fixed split
LINEAR_MODELS = ("linear_vae", "linear_decoder")
ENCODERS = ("linear", "deep_linear", "mlp")
OBJECTIVES = ("analytic", "stochastic")
LIKELIHOODS = ("gaussian_fixed", "gaussian_learned", "gaussian_optimal", "bernoulli")
SIGMA2_OPTIMS = ("adam", "sgd")
# σ² rule a likelihood may switch to at likelihood.sigma2_switch_step
SIGMA2_SWITCHES = {"gaussian_learned": "optimal", "gaussian_optimal": "learned"}
LOGGERS = ("none", "wandb")
WANDB_MODES = ("disabled", "offline", "online")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class DatasetConfig:
    name: str = "digits"
    root: str | None = None
    download: bool = False
    preprocess: str = "scale01"
    n_train: int | None = None  # None: the whole training split
    n_test: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # passed to lucas2019.data.load


@dataclass
class ModelConfig:
    name: str = "mlp_vae"
    latent_dim: int = 200
    objective: str = "stochastic"  # linear models: analytic or stochastic ELBO
    encoder: str = "mlp"  # linear_decoder only: linear, deep_linear or mlp
    encoder_hidden: list[int] = field(default_factory=lambda: [1024, 512])
    decoder_hidden: list[int] = field(default_factory=lambda: [512, 1024])
    init_std: float | None = None  # None: the model's default initialisation
    channels: list[int] | None = None  # conv_vae only; None: the model's default stack


@dataclass
class LikelihoodConfig:
    name: str = "gaussian_fixed"
    sigma2: float = 1.0  # the fixed value, or the initial value when learned
    per_dim: bool = False
    min_sigma2: float = 1e-6
    # A learned σ²'s own optimiser: learning rate (None: optim.lr; 0 holds σ² at its start value)
    # and algorithm (adam or plain sgd). The closed-form rule is likelihood=gaussian_optimal.
    sigma2_lr: float | None = None
    sigma2_optim: str = "adam"
    # Switch the σ² rule at this optimiser step: gaussian_learned -> "optimal" (closed form from
    # then on) or gaussian_optimal -> "learned" (learned from the last closed-form value).
    sigma2_switch_step: int | None = None
    sigma2_switch_to: str | None = None


@dataclass
class OptimConfig:
    name: str = "adam"
    lr: float = 5e-4
    batch_size: int | None = None  # None: full batch


@dataclass
class TrainerConfig:
    max_steps: int = 2000
    eval_every: int = 200
    checkpoint_every: int = 500
    beta: float = 1.0
    beta0: float = 0.0  # KL weight at step 0 when annealing
    kl_anneal_steps: int = 0  # 0: constant beta
    n_samples: int = 1  # reparameterised samples per example (stochastic objectives)
    eps_max: float = 2.0
    eps_points: int = 100
    delta: float = 0.01
    iw_samples: int = 0  # importance samples for log p(x) on the test split at the end; 0: skip
    progress: bool = True


@dataclass
class LoggerConfig:
    name: str = "none"
    project: str = "lucas2019"
    entity: str | None = None
    mode: str = "disabled"  # disabled, offline or online; WANDB_MODE wins when set
    init_timeout_s: float = 60.0
    log_images: bool = True
    tags: list[str] = field(default_factory=list)


@dataclass
class ExperimentConfig:
    name: str | None = None
    description: str = ""


@dataclass
class TrainConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    scale: str = "cpu"
    seed: int = 0
    device: str = "auto"
    torch_threads: int | None = None  # None: 1 under a parallel launcher, else torch's default
    run_dir: str = "."


@dataclass
class AnalyticSettings:
    latent_dim: int = 200  # k for the σ² tables (clipped to d)
    k_max: int = 300  # likelihood-vs-k curve for k = 0..min(d - 1, k_max)
    reference_k: int = 50  # the fixed-σ² curve uses the MLE σ² at this k (clipped), as in Fig. 2
    sigma2_grid: list[float] = field(
        default_factory=lambda: [30, 10, 3, 1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0001]
    )
    landscape_points: int = 41


@dataclass
class AnalyticConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    analytic: AnalyticSettings = field(default_factory=AnalyticSettings)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    seed: int = 0
    run_dir: str = "."


def register_configs() -> None:
    """Register the schemas that ``conf/train.yaml`` and ``conf/analytic.yaml`` build on."""
    ConfigStore.instance().store(name="train_schema", node=TrainConfig)
    ConfigStore.instance().store(name="analytic_schema", node=AnalyticConfig)


class ConfigError(ValueError):
    """A configuration value is out of range; the message names the key and the fix."""


def _check(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(
            f"config key '{key}' = {value!r} is invalid: expected {allowed}. "
            f"Fix it on the command line, e.g. `{key}=<value>`."
        )


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def expected_data_dim(dataset: DictConfig) -> int:
    """The data dimension d a dataset config will produce, known without loading any data."""
    options = dataset.get("options") or {}
    if dataset.name == "mnist":
        return 28 * 28
    if dataset.name == "digits":
        return 8 * 8
    if dataset.name == "celeba":
        size = int(options.get("image_size", 64))
        return (1 if options.get("grayscale", False) else 3) * size * size
    spectrum = options.get("spectrum")
    explicit = spectrum is not None and not isinstance(spectrum, str)
    return len(spectrum) if explicit else int(options.get("dim", 20))


def validate_analytic(cfg: DictConfig) -> None:
    """Check the value ranges of a composed ``analytic`` config; raise :class:`ConfigError`."""
    _check(cfg.dataset.name in DATASETS, "dataset.name", cfg.dataset.name, f"one of {DATASETS}")
    a = cfg.analytic
    for key in ("latent_dim", "k_max", "reference_k", "landscape_points"):
        _check(a[key] > 0, f"analytic.{key}", a[key], "a positive integer")
    _check(
        len(a.sigma2_grid) > 0 and all(_positive(s) for s in a.sigma2_grid),
        "analytic.sigma2_grid",
        list(a.sigma2_grid),
        "a non-empty list of numbers > 0",
    )


def validate(cfg: DictConfig | TrainConfig) -> None:
    """Check every value range of a composed training config; raise :class:`ConfigError`."""
    c = cfg if isinstance(cfg, DictConfig) else OmegaConf.structured(cfg)
    _check(c.dataset.name in DATASETS, "dataset.name", c.dataset.name, f"one of {DATASETS}")
    for key in ("n_train", "n_test"):
        value = c.dataset[key]
        _check(value is None or value > 0, f"dataset.{key}", value, "a positive integer or null")
        if c.dataset.name == "digits" and value is not None:
            size = DIGITS_SPLIT[key]
            _check(
                value <= size,
                f"dataset.{key}",
                value,
                f"at most {size}: the digits {key[2:]} split has {size} images",
            )
    _check(c.model.name in MODELS, "model.name", c.model.name, f"one of {MODELS}")
    _check(c.model.latent_dim > 0, "model.latent_dim", c.model.latent_dim, "a positive integer")
    _check(
        c.model.objective in OBJECTIVES,
        "model.objective",
        c.model.objective,
        f"one of {OBJECTIVES}",
    )
    _check(
        c.model.objective == "stochastic" or c.model.name in LINEAR_MODELS,
        "model.objective",
        c.model.objective,
        "'stochastic' for models with a nonlinear decoder (no closed form there)",
    )
    if c.model.name in LINEAR_MODELS:
        d = expected_data_dim(c.dataset)
        _check(
            c.model.latent_dim <= d,
            "model.latent_dim",
            c.model.latent_dim,
            f"at most the data dimension d = {d} of dataset '{c.dataset.name}' for a linear "
            "model (a linear map cannot use more latents than dimensions)",
        )
    _check(c.model.encoder in ENCODERS, "model.encoder", c.model.encoder, f"one of {ENCODERS}")
    _check(
        all(h > 0 for h in c.model.encoder_hidden + c.model.decoder_hidden),
        "model.encoder_hidden/decoder_hidden",
        list(c.model.encoder_hidden) + list(c.model.decoder_hidden),
        "positive layer widths",
    )
    _check(
        c.model.init_std is None or _positive(c.model.init_std),
        "model.init_std",
        c.model.init_std,
        "a positive number or null",
    )
    _check(
        c.likelihood.name in LIKELIHOODS,
        "likelihood.name",
        c.likelihood.name,
        f"one of {LIKELIHOODS}",
    )
    _check(
        _positive(c.likelihood.sigma2),
        "likelihood.sigma2",
        c.likelihood.sigma2,
        "a finite number > 0 (σ² is a variance)",
    )
    _check(
        _positive(c.likelihood.min_sigma2),
        "likelihood.min_sigma2",
        c.likelihood.min_sigma2,
        "a finite number > 0",
    )
    _validate_sigma2_rule(c.likelihood, c.trainer.max_steps)
    _check(c.optim.name == "adam", "optim.name", c.optim.name, "'adam'")
    _check(_positive(c.optim.lr), "optim.lr", c.optim.lr, "a finite number > 0")
    _check(
        c.optim.batch_size is None or c.optim.batch_size > 0,
        "optim.batch_size",
        c.optim.batch_size,
        "a positive integer or null (full batch)",
    )
    t = c.trainer
    _check(t.max_steps >= 0, "trainer.max_steps", t.max_steps, "an integer >= 0")
    for key in ("eval_every", "checkpoint_every", "n_samples", "eps_points"):
        _check(t[key] > 0, f"trainer.{key}", t[key], "a positive integer")
    _check(_positive(t.beta), "trainer.beta", t.beta, "a finite number > 0")
    _check(t.beta0 >= 0, "trainer.beta0", t.beta0, "a number >= 0")
    _check(t.kl_anneal_steps >= 0, "trainer.kl_anneal_steps", t.kl_anneal_steps, "an integer >= 0")
    _check(_positive(t.eps_max), "trainer.eps_max", t.eps_max, "a finite number > 0")
    _check(0 <= t.delta < 1, "trainer.delta", t.delta, "a number in [0, 1)")
    _check(t.iw_samples >= 0, "trainer.iw_samples", t.iw_samples, "an integer >= 0")
    _check(c.logger.name in LOGGERS, "logger.name", c.logger.name, f"one of {LOGGERS}")
    _check(c.logger.mode in WANDB_MODES, "logger.mode", c.logger.mode, f"one of {WANDB_MODES}")
    _check(
        _positive(c.logger.init_timeout_s),
        "logger.init_timeout_s",
        c.logger.init_timeout_s,
        "a number of seconds > 0",
    )
    _check(c.device in DEVICES, "device", c.device, f"one of {DEVICES}")
    _check(
        c.torch_threads is None or c.torch_threads > 0,
        "torch_threads",
        c.torch_threads,
        "a positive integer or null",
    )


def _validate_sigma2_rule(lik: DictConfig, max_steps: int) -> None:
    """The σ² optimiser and switch keys: ranges, and only where a σ² is ever learned."""
    name, switch_to = lik.name, lik.sigma2_switch_to
    if name in SIGMA2_SWITCHES:
        _check(
            lik.sigma2 > lik.min_sigma2,
            "likelihood.sigma2",
            lik.sigma2,
            f"a value above likelihood.min_sigma2 = {lik.min_sigma2} for {name}",
        )
    _check(
        switch_to is None or switch_to == SIGMA2_SWITCHES.get(name),
        "likelihood.sigma2_switch_to",
        switch_to,
        "null, 'optimal' from likelihood=gaussian_learned, or 'learned' from "
        f"likelihood=gaussian_optimal (this run has likelihood={name})",
    )
    step = lik.sigma2_switch_step
    _check(
        (step is None) == (switch_to is None),
        "likelihood.sigma2_switch_step",
        step,
        "set together with likelihood.sigma2_switch_to (both null: no switch)",
    )
    _check(
        step is None or 1 <= step <= max_steps,
        "likelihood.sigma2_switch_step",
        step,
        f"an optimiser step in [1, trainer.max_steps = {max_steps}]",
    )
    learns = name == "gaussian_learned" or switch_to == "learned"
    lr = lik.sigma2_lr
    _check(
        lr is None or (learns and isinstance(lr, int | float) and math.isfinite(lr) and lr >= 0),
        "likelihood.sigma2_lr",
        lr,
        "null (use optim.lr) or a finite number >= 0, and only with a learned σ² "
        "(likelihood=gaussian_learned, or gaussian_optimal with sigma2_switch_to=learned)",
    )
    _check(
        lik.sigma2_optim in SIGMA2_OPTIMS,
        "likelihood.sigma2_optim",
        lik.sigma2_optim,
        f"one of {SIGMA2_OPTIMS}",
    )
    _check(
        lik.sigma2_optim == "adam" or learns,
        "likelihood.sigma2_optim",
        lik.sigma2_optim,
        "'adam' (the default) unless σ² is learned: there is no σ² parameter to optimise",
    )


def compose_config(
    config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False
) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with Hydra overrides, outside any Hydra run.

    Used by ``reproduce``, the benchmarks and the tests; a bad key fails here, as on the command
    line.
    """
    register_configs()
    register_resolvers()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(
            config_name, overrides=list(overrides), return_hydra_config=return_hydra_config
        )


def register_resolvers() -> None:
    """Resolvers used by the configs: ``${halve:n}`` (e.g. anneal over half of max_steps)."""
    if not OmegaConf.has_resolver("halve"):
        OmegaConf.register_new_resolver("halve", lambda n: int(n) // 2)
