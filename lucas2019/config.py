"""The configuration: Hydra structured schemas and one per-key table of what each key may hold.

The dataclasses below are registered as the schemas of the primary configs, so a misspelt key fails
when Hydra composes the config. Each model has its own node (:data:`MODEL_SCHEMAS`), so a model
config holds exactly the options its constructor takes. The deep models' hidden widths are read
from the top-level ``widths`` node, which the scale presets set.

:data:`TRAIN_KEYS` (and :data:`ANALYTIC_KEYS`) is the one table of every key: its allowed values and
its effect on a run (:class:`Effect`). :func:`validate` checks a composed config against the table
and then the few rules that tie keys together, before any data is loaded; every message names the
key's full path, the value that came in and what is allowed. :func:`result_config` is the part of
a config that decides a run's result, which the run folder's fingerprint is made from.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf

from lucas2019 import data
from lucas2019.conf_files import CONF_DIR, paper_sigma2_grid
from lucas2019.data import digits
from lucas2019.likelihood_names import LIKELIHOODS, SIGMA2_OPTIMS, SIGMA2_SWITCHES
from lucas2019.mitigations import FREE_BITS_VARIANTS, MITIGATIONS
from lucas2019.models import DEVICES, ENCODERS, LINEAR_MODELS, MODELS, OBJECTIVES
from lucas2019.tracking import WANDB_MODES

LOGGERS = ("none", "wandb")  # the options of conf/logger/


@dataclass
class DatasetConfig:
    name: str = "digits"
    root: str | None = None
    download: bool = False
    preprocess: str = "scale01"
    n_train: int | None = None  # None: the whole training split
    n_test: int | None = None
    # Seeds the data alone (the subset's rows, dequantisation and binarisation noise, generated
    # samples); `seed` varies the model's initialisation and training noise on the same data.
    subset_seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # passed to lucas2019.data.load


@dataclass
class Widths:
    """Hidden-layer widths of the deep encoders and decoders; the scale presets set them."""

    encoder: list[int] = field(default_factory=lambda: [1024, 512])
    decoder: list[int] = field(default_factory=lambda: [512, 1024])


# One node per model; its keys are exactly the model's constructor options (lucas2019.models).
@dataclass
class LinearVAEConfig:
    name: str = "linear_vae"
    latent_dim: int = 32
    objective: str = "analytic"  # analytic (closed-form) or stochastic ELBO
    init_std: float = 1e-3


@dataclass
class LinearDecoderConfig:
    name: str = "linear_decoder"
    latent_dim: int = 32
    encoder: str = "linear"  # linear, deep_linear or mlp
    encoder_hidden: list[int] = field(default_factory=list)  # [] for the linear encoder
    objective: str = "analytic"
    init_std: float = 1e-3


@dataclass
class MLPVAEConfig:
    name: str = "mlp_vae"
    latent_dim: int = 200
    encoder_hidden: list[int] = field(default_factory=lambda: [1024, 512])
    decoder_hidden: list[int] = field(default_factory=lambda: [512, 1024])


@dataclass
class ConvVAEConfig:
    name: str = "conv_vae"
    latent_dim: int = 64
    channels: list[int] = field(default_factory=lambda: [32, 32, 64, 64])


MODEL_SCHEMAS: dict[str, type] = {
    "linear_vae": LinearVAEConfig,
    "linear_decoder": LinearDecoderConfig,
    "mlp_vae": MLPVAEConfig,
    "conv_vae": ConvVAEConfig,
}


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
    # fresh draws of the training objective at the final parameters for its noise report; 0: skip
    noise_draws: int = 0
    progress: bool = True


#: one node per mitigation, its ``Config`` (lucas2019.mitigations): exactly the keys it reads
MITIGATION_SCHEMAS: dict[str, type] = {name: cls.Config for name, cls in MITIGATIONS.items()}


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
class UntilDecidedConfig:
    """``reproduce --until-decided``: the longest a blocking run is extended to; each scale preset
    declares its own (conf/scale/*.yaml)."""

    max_steps: int = MISSING


@dataclass
class TrainConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    widths: Widths = field(default_factory=Widths)
    model: Any = MISSING  # one of MODEL_SCHEMAS, chosen by the model group
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    mitigation: Any = MISSING  # one of MITIGATION_SCHEMAS, chosen by the mitigation group
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    until_decided: UntilDecidedConfig = field(default_factory=UntilDecidedConfig)
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
    sigma2_grid: list[float] = field(default_factory=paper_sigma2_grid)  # the paper's grid
    landscape_points: int = 41


@dataclass
class AnalyticConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    analytic: AnalyticSettings = field(default_factory=AnalyticSettings)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    run_dir: str = "."


def register_configs() -> None:
    """Register the schemas that ``conf/train.yaml``, ``conf/analytic.yaml`` and ``conf/model/``
    build on."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="analytic_schema", node=AnalyticConfig)
    for name, schema in MODEL_SCHEMAS.items():
        store.store(group="model_schema", name=name, node=schema)
    for name, schema in MITIGATION_SCHEMAS.items():
        store.store(group="mitigation_schema", name=name, node=schema)


# --- the per-key table -------------------------------------------------------------------------


class ConfigError(ValueError):
    """A configuration value is out of range; the message names the key and the fix."""


class Effect(enum.Enum):
    """What a key does to a run, which decides whether it enters the run's fingerprint."""

    RESULT = "changes the result"
    LENGTH = "the run's length: a larger value extends a run, it does not make a new one"
    NONE = "does not change the result (bookkeeping, labels, speed or where output goes)"


@dataclass(frozen=True)
class Allowed:
    """The values a key accepts: a test and its description for the error message."""

    test: Callable[[Any], bool]
    words: str

    def __or__(self, other: Allowed) -> Allowed:
        return Allowed(lambda v: self.test(v) or other.test(v), f"{self.words} or {other.words}")


@dataclass(frozen=True)
class Key:
    """One row of the per-key table: allowed values (None: whatever the schema's type admits)."""

    allowed: Allowed | None = None
    effect: Effect = Effect.RESULT


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def one_of(names: Sequence[str]) -> Allowed:
    """Exactly one of ``names``."""
    return Allowed(lambda v: v in names, f"one of {tuple(names)}")


POSITIVE = Allowed(lambda v: _is_number(v) and v > 0, "a finite number > 0")
NON_NEGATIVE = Allowed(lambda v: _is_number(v) and v >= 0, "a finite number >= 0")
POSITIVE_INT = Allowed(lambda v: _is_int(v) and v > 0, "a positive integer")
NON_NEGATIVE_INT = Allowed(lambda v: _is_int(v) and v >= 0, "an integer >= 0")
NULL = Allowed(lambda v: v is None, "null")
WIDTHS = Allowed(
    lambda v: isinstance(v, Sequence) and all(_is_int(w) and w > 0 for w in v),
    "a list of positive layer widths",
)
GRID = Allowed(
    lambda v: isinstance(v, Sequence) and len(v) > 0 and all(POSITIVE.test(s) for s in v),
    "a non-empty list of numbers > 0",
)
FRACTION = Allowed(lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)")
SHARE = Allowed(lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]")

_DATASET_KEYS = {
    "dataset.name": Key(one_of(data.DATASETS)),
    # The data enter a run's fingerprint through a hash of the loaded arrays, not their path.
    "dataset.root": Key(effect=Effect.NONE),
    "dataset.download": Key(effect=Effect.NONE),
    "dataset.preprocess": Key(one_of(data.PREPROCESSINGS)),
    "dataset.n_train": Key(POSITIVE_INT | NULL),
    "dataset.n_test": Key(POSITIVE_INT | NULL),
    "dataset.subset_seed": Key(NON_NEGATIVE_INT),
    "dataset.options": Key(),
}
_EXPERIMENT_KEYS = {
    "experiment.name": Key(effect=Effect.NONE),
    "experiment.description": Key(effect=Effect.NONE),
    "run_dir": Key(effect=Effect.NONE),
}
#: every key of a training config (lucas2019.train): allowed values and effect on the result
TRAIN_KEYS: dict[str, Key] = {
    **_DATASET_KEYS,
    # read only through the model node's interpolations, which carry the values themselves
    "widths.encoder": Key(WIDTHS, Effect.NONE),
    "widths.decoder": Key(WIDTHS, Effect.NONE),
    "model.name": Key(one_of(tuple(MODELS))),
    "model.latent_dim": Key(POSITIVE_INT),
    "model.objective": Key(one_of(OBJECTIVES)),
    "model.encoder": Key(one_of(ENCODERS)),
    "model.encoder_hidden": Key(WIDTHS),
    "model.decoder_hidden": Key(WIDTHS),
    "model.channels": Key(WIDTHS),
    "model.init_std": Key(POSITIVE),
    "likelihood.name": Key(one_of(LIKELIHOODS)),
    "likelihood.sigma2": Key(Allowed(POSITIVE.test, "a finite number > 0 (σ² is a variance)")),
    "likelihood.per_dim": Key(),
    "likelihood.min_sigma2": Key(POSITIVE),
    "likelihood.sigma2_lr": Key(NULL | NON_NEGATIVE),
    "likelihood.sigma2_optim": Key(one_of(SIGMA2_OPTIMS)),
    "likelihood.sigma2_switch_step": Key(NULL | POSITIVE_INT),
    "likelihood.sigma2_switch_to": Key(NULL | one_of(sorted(set(SIGMA2_SWITCHES.values())))),
    "optim.name": Key(one_of(("adam",))),
    "optim.lr": Key(POSITIVE),
    "optim.batch_size": Key(NULL | POSITIVE_INT),
    "trainer.max_steps": Key(NON_NEGATIVE_INT, Effect.LENGTH),
    "trainer.eval_every": Key(POSITIVE_INT, Effect.NONE),
    "trainer.checkpoint_every": Key(POSITIVE_INT, Effect.NONE),
    "trainer.beta": Key(POSITIVE),
    "trainer.beta0": Key(NON_NEGATIVE),
    "trainer.kl_anneal_steps": Key(NON_NEGATIVE_INT),
    "trainer.n_samples": Key(POSITIVE_INT),
    "trainer.eps_max": Key(POSITIVE),
    "trainer.eps_points": Key(POSITIVE_INT),
    "trainer.delta": Key(FRACTION),
    "trainer.iw_samples": Key(NON_NEGATIVE_INT),
    # a report on the final parameters, like the evaluation cadence: training is the same
    "trainer.noise_draws": Key(
        Allowed(lambda v: _is_int(v) and (v == 0 or v >= 2), "0 (off) or an integer >= 2"),
        Effect.NONE,
    ),
    "trainer.progress": Key(effect=Effect.NONE),
    # read by reproduce, not by the run: it caps how far reproduce extends a run, which
    # trainer.max_steps then says
    "until_decided.max_steps": Key(POSITIVE_INT, Effect.NONE),
    # The mitigation and the keys of its node (MITIGATION_SCHEMAS; each node holds its own).
    "mitigation.name": Key(one_of(tuple(MITIGATIONS))),
    "mitigation.lambda_nats": Key(POSITIVE),
    "mitigation.variant": Key(one_of(FREE_BITS_VARIANTS)),
    "mitigation.cycles": Key(POSITIVE_INT),
    "mitigation.cycle_steps": Key(POSITIVE_INT),
    "mitigation.ramp_ratio": Key(SHARE),
    "mitigation.check_every": Key(POSITIVE_INT),
    "mitigation.max_inner_steps": Key(POSITIVE_INT),
    "mitigation.mi_every": Key(POSITIVE_INT),
    "mitigation.mi_patience": Key(POSITIVE_INT),
    "mitigation.mi_min_rise": Key(NON_NEGATIVE),
    "logger.name": Key(one_of(LOGGERS), Effect.NONE),
    "logger.project": Key(effect=Effect.NONE),
    "logger.entity": Key(effect=Effect.NONE),
    "logger.mode": Key(one_of(WANDB_MODES), Effect.NONE),
    "logger.init_timeout_s": Key(Allowed(POSITIVE.test, "a number of seconds > 0"), Effect.NONE),
    "logger.log_images": Key(effect=Effect.NONE),
    "logger.tags": Key(effect=Effect.NONE),
    **_EXPERIMENT_KEYS,
    "seed": Key(),  # the model's initialisation and training noise (the data: subset_seed)
    "scale": Key(effect=Effect.NONE),  # a label; the preset's effects are in the keys it sets
    "device": Key(one_of(DEVICES), Effect.NONE),
    "torch_threads": Key(NULL | POSITIVE_INT, Effect.NONE),
}
#: every key of an analytic config (lucas2019.analytic)
ANALYTIC_KEYS: dict[str, Key] = {
    **_DATASET_KEYS,
    "analytic.latent_dim": Key(POSITIVE_INT),
    "analytic.k_max": Key(POSITIVE_INT),
    "analytic.reference_k": Key(POSITIVE_INT),
    "analytic.sigma2_grid": Key(GRID),
    "analytic.landscape_points": Key(POSITIVE_INT),
    **_EXPERIMENT_KEYS,
}
# Containers that are values in their own right (free-form options, lists), not nodes of keys.
_LEAF_CONTAINERS = ("dataset.options",)


def _leaves(cfg: DictConfig, prefix: str = "") -> Iterator[tuple[str, DictConfig, str]]:
    """(dotted key, parent node, key) for every leaf of a config, lists and free-form options
    included as leaves. Values are not read here, so an interpolation that only resolves inside a
    Hydra run (``run_dir``) is never touched by a key that does not need its value."""
    for key in cfg:
        path = f"{prefix}{key}"
        if path == "hydra":
            continue
        if OmegaConf.is_dict(cfg._get_node(key)) and path not in _LEAF_CONTAINERS:
            yield from _leaves(cfg[key], f"{path}.")
        else:
            yield path, cfg, key


def _plain(node: DictConfig, key: str) -> Any:
    value = node[key]
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _check_table(cfg: DictConfig, table: dict[str, Key]) -> None:
    for path, node, key in _leaves(cfg):
        if path not in table:
            raise ConfigError(
                f"config key '{path}' is not a key this package knows; remove it or check its "
                "spelling (`--cfg job` shows the composed config)."
            )
        if OmegaConf.is_missing(node, key):
            raise ConfigError(
                f"config key '{path}' has no value; set it on the command line, e.g. "
                f"`{path}=<value>`."
            )
        allowed = table[path].allowed
        if allowed is not None:
            value = _plain(node, key)
            _check(allowed.test(value), path, value, allowed.words)


def _check(ok: bool, key: str, value: Any, allowed: str | None) -> None:
    if not ok:
        raise ConfigError(
            f"config key '{key}' = {value!r} is invalid: expected {allowed}. "
            f"Fix it on the command line, e.g. `{key}=<value>`."
        )


def result_config(cfg: DictConfig) -> dict[str, Any]:
    """The keys of a training config that decide a run's result, as {dotted key: plain value}.

    These are the keys the per-key table marks :attr:`Effect.RESULT`; the run length
    (``trainer.max_steps``), bookkeeping and the data's path are left out (a run folder's
    fingerprint adds a hash of the loaded data instead).
    """
    values = {
        path: _plain(node, key)
        for path, node, key in _leaves(cfg)
        if path in TRAIN_KEYS and TRAIN_KEYS[path].effect is Effect.RESULT
    }
    unused = (key for key in _FLAT_MITIGATION_KEYS if key not in values)
    return {**values, **dict.fromkeys(unused)}


# The keys of the one mitigation node that held every mitigation's keys, null where unused, before
# each mitigation had its own node. A fingerprint lists them, null where the chosen node lacks
# them, so the run folders written then keep their fingerprints; keys of later mitigations enter
# only the fingerprints of runs that use them.
_FLAT_MITIGATION_KEYS = tuple(
    f"mitigation.{key}"
    for key in (
        "lambda_nats",
        "variant",
        "cycles",
        "cycle_steps",
        "ramp_ratio",
        "check_every",
        "max_inner_steps",
        "mi_every",
        "mi_patience",
    )
)


# --- rules that tie keys together ---------------------------------------------------------------


def _check_subset(dataset: DictConfig) -> None:
    """A subset no larger than a fixed split (digits has 1,497 training and 300 test images)."""
    if dataset.name != "digits":
        return
    for key, size in (("n_train", digits.N_TRAIN), ("n_test", digits.N_TEST)):
        value = dataset[key]
        _check(
            value is None or value <= size,
            f"dataset.{key}",
            value,
            f"at most {size}: the digits {key[2:]} split has {size} images",
        )


def _check_model(c: DictConfig) -> None:
    model = c.model
    if model.name in LINEAR_MODELS:
        options = OmegaConf.to_container(c.dataset.options, resolve=True)
        d = data.SOURCES[c.dataset.name].data_dim(options)
        _check(
            model.latent_dim <= d,
            "model.latent_dim",
            model.latent_dim,
            f"at most the data dimension d = {d} of dataset '{c.dataset.name}' for a linear "
            "model (a linear map cannot use more latents than dimensions)",
        )
    if model.get("encoder") == "linear":
        _check(
            len(model.encoder_hidden) == 0,
            "model.encoder_hidden",
            list(model.encoder_hidden),
            "[] for model.encoder=linear (a linear map has no hidden layers)",
        )


def _check_sigma2_rule(lik: DictConfig, max_steps: int) -> None:
    """The σ² optimiser and switch keys: only where a σ² is ever learned, switches in range."""
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
        step is None or step <= max_steps,
        "likelihood.sigma2_switch_step",
        step,
        f"an optimiser step in [1, trainer.max_steps = {max_steps}]",
    )
    learns = name == "gaussian_learned" or switch_to == "learned"
    _check(
        lik.sigma2_lr is None or learns,
        "likelihood.sigma2_lr",
        lik.sigma2_lr,
        "null unless σ² is learned (likelihood=gaussian_learned, or gaussian_optimal with "
        "sigma2_switch_to=learned)",
    )
    _check(
        lik.sigma2_optim == "adam" or learns,
        "likelihood.sigma2_optim",
        lik.sigma2_optim,
        "'adam' (the default) unless σ² is learned: there is no σ² parameter to optimise",
    )


def _check_mitigation(c: DictConfig) -> None:
    """The rules the chosen mitigation ties to its keys and the trainer's (its
    ``config_problems``, e.g. cyclical annealing replaces the linear annealing schedule)."""
    for key, value, allowed in MITIGATIONS[c.mitigation.name].config_problems(
        c.mitigation, c.trainer
    ):
        _check(False, key, value, allowed)


def validate(cfg: DictConfig) -> None:
    """Check a composed training config against :data:`TRAIN_KEYS` and the rules that tie keys
    together; raise :class:`ConfigError` naming the first bad key."""
    _check_table(cfg, TRAIN_KEYS)
    _check_subset(cfg.dataset)
    _check_model(cfg)
    _check_sigma2_rule(cfg.likelihood, cfg.trainer.max_steps)
    _check_mitigation(cfg)


# --- a validated config as plain values: what the library reads ---------------------------------


@dataclass(frozen=True)
class RunConfig:
    """A validated training config as plain values: all that the trainer, the stacked trainer
    and the run folder read of it. The commands build it once (:meth:`from_config`, the one
    validation) from the config Hydra composed; no module below them reads a DictConfig.

    ``values`` is the resolved config as nested plain dicts and lists. How the run was started,
    as the command knows it: ``claims_hash``, the claims table's hash that a run starting from
    step 0 records (:mod:`lucas2019.provenance`; None: recorded null); ``overrides``, its
    command-line overrides, and ``launcher``, how it is trained when on its own (result.json's
    ``overrides`` and ``launcher``, :mod:`lucas2019.launch`; () and None outside Hydra).
    """

    values: Mapping[str, Any]
    yaml: str  # ``values`` as YAML, the body of the run folder's config.yaml
    result: Mapping[str, Any]  # :func:`result_config`: what decides the run's result
    unresolved: Mapping[str, Any]  # the config with its interpolations, for :meth:`result_at`
    claims_hash: str | None = None
    overrides: tuple[str, ...] = ()
    launcher: str | None = None

    @classmethod
    def from_config(
        cls,
        cfg: DictConfig,
        claims_hash: str | None = None,
        overrides: Sequence[str] = (),
        launcher: str | None = None,
    ) -> RunConfig:
        """Validate ``cfg`` (:func:`validate`: raises :class:`ConfigError`) and copy its values."""
        validate(cfg)
        unresolved = OmegaConf.to_container(cfg, resolve=False)
        unresolved.pop("hydra", None)
        return cls(
            values=OmegaConf.to_container(cfg, resolve=True),
            yaml=OmegaConf.to_yaml(cfg, resolve=True),
            result=result_config(cfg),
            unresolved=unresolved,
            claims_hash=claims_hash,
            overrides=tuple(overrides),
            launcher=launcher,
        )

    @property
    def max_steps(self) -> int:
        """``trainer.max_steps``: the run's length in optimiser steps."""
        return int(self.values["trainer"]["max_steps"])

    @property
    def job(self) -> dict[str, Any]:
        """The values less ``run_dir``: the job's config as :mod:`lucas2019.grouping` compares
        it (as :func:`job_values` of the config it was built from)."""
        return {key: value for key, value in self.values.items() if key != "run_dir"}

    def result_at(self, max_steps: int) -> dict[str, Any]:
        """:attr:`result` with ``trainer.max_steps`` set to ``max_steps``: a schedule written
        relative to the run's length (``${halve:${trainer.max_steps}}``) moves with it."""
        cfg = OmegaConf.create(dict(self.unresolved))
        cfg.trainer.max_steps = max_steps
        return result_config(cfg)


def job_values(cfg: DictConfig) -> dict[str, Any]:
    """A sweep job's resolved config as plain nested dicts, without ``hydra`` and ``run_dir`` (a
    per-job folder that resolves only inside its Hydra job): what :mod:`lucas2019.grouping`
    plans with, before the job runs."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    for key in ("hydra", "run_dir"):
        plain.pop(key, None)
    return OmegaConf.to_container(OmegaConf.create(plain), resolve=True)


def validate_analytic(cfg: DictConfig) -> None:
    """Check a composed ``analytic`` config against :data:`ANALYTIC_KEYS`; raise ConfigError."""
    _check_table(cfg, ANALYTIC_KEYS)


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
    """Resolvers used by the configs: ``${halve:n}`` (e.g. anneal over half of max_steps) and
    ``${or_else:value,default}`` (the default where the value is null: an output folder named
    after ``experiment.name``, or after the command when no experiment is chosen)."""
    if not OmegaConf.has_resolver("halve"):
        OmegaConf.register_new_resolver("halve", lambda n: int(n) // 2)
    if not OmegaConf.has_resolver("or_else"):
        OmegaConf.register_new_resolver(
            "or_else", lambda value, default: default if value is None else value
        )
