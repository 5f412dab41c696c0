"""What a run folder holds, and the table :func:`lucas2019.results.collect_runs` makes of it.

A run folder (written by :mod:`lucas2019.trainer`) holds ``config.yaml`` (the resolved config),
``metrics.csv`` (one row per evaluation, columns :data:`METRICS_CSV`), ``result.json`` (the final
numbers, keys :data:`RESULT_JSON`) and the last two checkpoints (``checkpoint.pt``,
``checkpoint.previous.pt``); config.yaml, each checkpoint and result.json also carry the run's
``fingerprint`` (:mod:`lucas2019.run_folder`). A multirun job that failed records its error in
result.json; one that was refused, or failed where a finished result.json stands, records it in
``job_error.json`` (:func:`lucas2019.run_folder.record_job_error`).
:data:`RUN_TABLE` lists the columns of one row per run folder.

Every key is defined here once, with its type, unit and meaning; the trainer, the results table
and the W&B tracker take their lists from here, and tests/test_run_schema.py checks that a real
run writes exactly these keys. Adding a key is one line here plus the code that computes it.

One name per quantity: ``mse`` is the squared error per data dimension at the encoder mean;
``sigma2_optimal`` the *expected* squared error per data dimension, E_q ||x − f(z)||² / d, which is
the σ² that maximises the ELBO for the current encoder and decoder (the σ-VAE closed form);
``sigma2_optimal_batch`` the same on one training batch.
"""

from __future__ import annotations

from dataclasses import dataclass

# value types
INT = "int"
FLOAT = "float"
TEXT = "text"
FLOATS = "list of floats"
TEXTS = "list of texts"
MAPPING = "mapping"
# units
NATS = "nats per example"
DATA_UNITS2 = "data units²"
STEPS = "optimiser steps"
COUNT = "count"
FRACTION = "fraction in [0, 1]"
SECONDS = "s"
NO_UNIT = ""

#: mutual-information estimates within this many nats of their ceiling log n are saturated
MI_CEILING_MARGIN_NATS = 0.5
_MI_CEILING = (
    f"the most the estimator can return; a value within {MI_CEILING_MARGIN_NATS} nats "
    "of it is saturated (a lower bound of I(x; z))"
)


@dataclass(frozen=True)
class Key:
    """One column of a file or table: its name, value type, unit and one-line meaning."""

    name: str
    kind: str
    unit: str
    meaning: str


@dataclass(frozen=True)
class ResultKey(Key):
    """A result.json key; ``column`` is the run-table column it fills (None: not in the table),
    ``wandb_summary`` whether the W&B run summary carries it under the same name."""

    column: str | None = None
    wandb_summary: bool = False


@dataclass(frozen=True)
class ConfigColumn(Key):
    """A run-table column read from config.yaml at ``path`` (nested keys)."""

    path: tuple[str, ...]


METRICS_CSV: tuple[Key, ...] = (
    Key("step", INT, STEPS, "optimiser steps taken when the row was evaluated; the first row is "
        "step 0, the initial model"),
    Key("elbo", FLOAT, NATS, "ELBO on the training set"),
    Key("rec", FLOAT, NATS, "E_q log p(x | z) on the training set"),
    Key("kl", FLOAT, NATS, "KL(q(z | x) || p(z)) on the training set"),
    Key("beta", FLOAT, NO_UNIT, "KL weight of the last training step (annealing schedule); at "
        "step 0, of the first"),
    Key("sigma2", FLOAT, DATA_UNITS2, "σ² in use (closed form: what the last step used); empty "
        "for a Bernoulli decoder"),
    Key("sigma2_optimal", FLOAT, DATA_UNITS2, "closed-form optimal σ² of the current model: "
        "E_q squared error per data dimension, mean over the training set"),
    Key("sigma2_optimal_batch", FLOAT, DATA_UNITS2, "the same on the last training batch, before "
        "its update: what a closed-form σ² was set to; empty at step 0"),
    Key("collapsed_fraction", FLOAT, FRACTION, "latents (ε, δ)-collapsed at ε = 0.01 nats and "
        "δ = trainer.delta"),
    Key("active_units", INT, COUNT, "latents with Var_x E_q[z_i] ≥ 0.01"),
    Key("mutual_information", FLOAT, "nats", "I(x; z) on the training set, aggregate-posterior "
        "estimate (one z per example)"),
    Key("mutual_information_ceiling", FLOAT, "nats", f"log n_train: {_MI_CEILING}"),
    Key("elbo_test", FLOAT, NATS, "ELBO on the held-out set; empty without one"),
    Key("inner_encoder_steps", INT, STEPS, "encoder-only steps taken so far by "
        "mitigation=aggressive_encoder (0 for the other mitigations); flat once its phase ended"),
    Key("wall_time_s", FLOAT, SECONDS, "training wall time so far (time spent stopped excluded)"),
)  # fmt: skip

# In run-table order: numbers, then lists, then texts (RUN_TABLE keeps this order).
RESULT_JSON: tuple[ResultKey, ...] = (
    ResultKey("status", TEXT, NO_UNIT, "'completed', or 'diverged' (a NaN/inf loss)",
              wandb_summary=True),
    ResultKey("step", INT, STEPS, "optimiser steps trained", column="step", wandb_summary=True),
    ResultKey("elbo", FLOAT, NATS, "final ELBO on the training set", column="elbo",
              wandb_summary=True),
    ResultKey("elbo_test", FLOAT, NATS, "final ELBO on the held-out set; null without one",
              column="elbo_test", wandb_summary=True),
    ResultKey("rec", FLOAT, NATS, "final E_q log p(x | z) on the training set", column="rec",
              wandb_summary=True),
    ResultKey("kl", FLOAT, NATS, "final KL(q(z | x) || p(z)) on the training set", column="kl",
              wandb_summary=True),
    ResultKey("mse", FLOAT, DATA_UNITS2, "squared error per data dimension at the encoder mean "
              "(of the decoder's mean), mean over the training set", column="mse",
              wandb_summary=True),
    ResultKey("sigma2_optimal", FLOAT, DATA_UNITS2, "closed-form optimal σ² of the final model "
              "(E_q squared error per data dimension); far below a learned sigma2 means the "
              "optimiser, not the objective, held σ² back", column="sigma2_optimal",
              wandb_summary=True),
    ResultKey("active_units", INT, COUNT, "latents with Var_x E_q[z_i] ≥ 0.01",
              column="active_units", wandb_summary=True),
    ResultKey("collapsed_fraction", FLOAT, FRACTION, "latents (ε, δ)-collapsed at ε = 0.01 nats",
              column="collapsed_fraction", wandb_summary=True),
    ResultKey("mutual_information", FLOAT, "nats", "I(x; z) on the training set, "
              "aggregate-posterior estimate (lucas2019.metrics.mutual_information)",
              column="mutual_information", wandb_summary=True),
    ResultKey("mutual_information_ceiling", FLOAT, "nats", f"log n_train: {_MI_CEILING}",
              column="mutual_information_ceiling", wandb_summary=True),
    ResultKey("active_units_test", INT, COUNT, "active_units on the held-out set; null without "
              "one", column="active_units_test", wandb_summary=True),
    ResultKey("collapsed_fraction_test", FLOAT, FRACTION, "collapsed_fraction on the held-out "
              "set; null without one", column="collapsed_fraction_test", wandb_summary=True),
    ResultKey("mutual_information_test", FLOAT, "nats", "mutual_information on the held-out set; "
              "null without one", column="mutual_information_test", wandb_summary=True),
    ResultKey("mutual_information_test_ceiling", FLOAT, "nats", f"log n_test: {_MI_CEILING}; "
              "null without a held-out set", column="mutual_information_test_ceiling",
              wandb_summary=True),
    ResultKey("log_px_test", FLOAT, NATS, "importance-weighted log p(x) on the held-out set "
              "(trainer.iw_samples samples); null when 0 or without one", column="log_px_test",
              wandb_summary=True),
    ResultKey("objective_noise_draws", INT, COUNT, "fresh draws behind the objective's noise "
              "numbers (trainer.noise_draws); null when off", column="objective_noise_draws"),
    ResultKey("objective_elbo_std", FLOAT, NATS, "std of the training objective (the ELBO the "
              "steps follow) over fresh reparameterisation draws at the final parameters, "
              "training set; 0 for an analytic objective; null when off",
              column="objective_elbo_std"),
    ResultKey("objective_grad_std", FLOAT, "nats per parameter unit", "sqrt(Σ_p Var(∂ELBO/∂θ_p)) "
              "over the same draws: the gradient noise of one step; null when off",
              column="objective_grad_std"),
    ResultKey("wall_time_s", FLOAT, SECONDS, "training wall time", column="wall_time_s",
              wandb_summary=True),
    ResultKey("n_train", INT, COUNT, "training examples", column="n_train", wandb_summary=True),
    ResultKey("data_dim", INT, COUNT, "data dimensions d", column="data_dim"),
    ResultKey("sigma2", FLOAT, DATA_UNITS2, "final σ²; null for a Bernoulli decoder",
              column="sigma2_final", wandb_summary=True),
    ResultKey("kl_per_latent", FLOATS, NATS, "each latent's KL, mean over the training set",
              column="kl_per_latent"),
    ResultKey("collapse_eps", FLOATS, "nats", "the ε grid of collapse_curve",
              column="collapse_eps"),
    ResultKey("collapse_curve", FLOATS, FRACTION, "latents (ε, δ)-collapsed at each ε",
              column="collapse_curve"),
    ResultKey("latent_dim", INT, COUNT, "latent dimensions k", wandb_summary=True),
    ResultKey("n_test", INT, COUNT, "held-out examples (0 without a held-out set)"),
    ResultKey("dataset", TEXT, NO_UNIT, "dataset name"),
    ResultKey("preprocess", TEXT, NO_UNIT, "preprocessing applied to the data"),
    ResultKey("versions", MAPPING, NO_UNIT, "Python, platform and package versions"),
    ResultKey("overrides", TEXTS, NO_UNIT, "the run's Hydra overrides"),
    ResultKey("experiment", TEXT, NO_UNIT, "experiment preset name; null without one"),
    ResultKey("extended_from", INT, STEPS, "step count of the completed run this one extended; "
              "null if it was not extended"),
    ResultKey("aggressive_end_step", INT, STEPS, "mitigation=aggressive_encoder: the step at "
              "which I(x; z) stopped rising (by mitigation.mi_min_rise) and the aggressive phase "
              "ended; null if it had not "
              "ended or another mitigation ran", column="aggressive_end_step"),
    ResultKey("inner_encoder_steps", INT, STEPS, "encoder-only steps of the aggressive phase, "
              "besides the `step` joint or decoder steps (0 for the other mitigations)",
              column="inner_encoder_steps"),
    ResultKey("launcher", TEXT, NO_UNIT, "how the run was trained: 'vectorized' for a member of "
              "a stacked group (hydra/launcher=vectorized, lucas2019.stacked), else the "
              "hydra/launcher of its job ('basic', 'local_parallel', 'slurm', ...; "
              "'vectorized_alone' for a job that launcher ran unstacked); null outside Hydra. "
              "Not part of the fingerprint: both ways train the same run"),
    ResultKey("fingerprint", MAPPING, NO_UNIT, "every config value that decides the result, "
              "and the data's SHA-256 (lucas2019.run_folder)"),
    ResultKey("claims_hash", TEXT, NO_UNIT, "hash of the claims table in force when the run "
              "first started (paper_figures.claims.table.table_hash, read by the command that "
              "started it); null for a run begun before runs recorded it, or started through "
              "the library API without it (lucas2019.provenance)", column="claims_hash"),
    ResultKey("git_commit", TEXT, NO_UNIT, "git commit of the package's checkout when the run "
              "first started, or the package version outside a checkout; null for a run begun "
              "before runs recorded it", column="git_commit"),
    ResultKey("started_utc", TEXT, NO_UNIT, "when the run first started, ISO 8601 UTC "
              "(e.g. 2026-12-07T09:12:03Z); a resumed or extended run keeps it; null for a run "
              "begun before runs recorded it", column="started_utc"),
)  # fmt: skip

CONFIG_COLUMNS: tuple[ConfigColumn, ...] = (
    ConfigColumn("experiment", TEXT, NO_UNIT, "experiment preset", ("experiment", "name")),
    ConfigColumn("dataset", TEXT, NO_UNIT, "dataset name", ("dataset", "name")),
    ConfigColumn("model", TEXT, NO_UNIT, "model name", ("model", "name")),
    ConfigColumn("latent_dim", INT, COUNT, "latent dimensions k", ("model", "latent_dim")),
    ConfigColumn("objective", TEXT, NO_UNIT, "linear models: analytic or stochastic ELBO",
                 ("model", "objective")),
    ConfigColumn("encoder", TEXT, NO_UNIT, "linear-decoder models: the encoder",
                 ("model", "encoder")),
    ConfigColumn("likelihood", TEXT, NO_UNIT, "likelihood name", ("likelihood", "name")),
    ConfigColumn("sigma2", FLOAT, DATA_UNITS2, "configured fixed or initial σ²",
                 ("likelihood", "sigma2")),
    ConfigColumn("lr", FLOAT, NO_UNIT, "the model's learning rate", ("optim", "lr")),
    ConfigColumn("sigma2_lr", FLOAT, NO_UNIT, "σ²'s own learning rate; empty = lr",
                 ("likelihood", "sigma2_lr")),
    ConfigColumn("sigma2_optim", TEXT, NO_UNIT, "σ²'s optimiser", ("likelihood", "sigma2_optim")),
    ConfigColumn("sigma2_switch_step", INT, STEPS, "step at which the σ² rule changes",
                 ("likelihood", "sigma2_switch_step")),
    ConfigColumn("sigma2_switch_to", TEXT, NO_UNIT, "the σ² rule after the switch",
                 ("likelihood", "sigma2_switch_to")),
    ConfigColumn("max_steps", INT, STEPS, "configured training length", ("trainer", "max_steps")),
    ConfigColumn("kl_anneal_steps", INT, STEPS, "KL annealing length (0 = none)",
                 ("trainer", "kl_anneal_steps")),
    ConfigColumn("beta0", FLOAT, NO_UNIT, "initial KL weight of the annealing",
                 ("trainer", "beta0")),
    ConfigColumn("mitigation", TEXT, NO_UNIT, "collapse mitigation ('none' for a plain run)",
                 ("mitigation", "name")),
    ConfigColumn("free_bits_variant", TEXT, NO_UNIT, "mitigation=free_bits: 'per_latent' or "
                 "'total'", ("mitigation", "variant")),
    ConfigColumn("subset_seed", INT, NO_UNIT, "seed of the training/test subset (the data)",
                 ("dataset", "subset_seed")),
    ConfigColumn("seed", INT, NO_UNIT, "model seed: initialisation and sampling noise",
                 ("seed",)),
)  # fmt: skip


def _result_columns(kinds: tuple[str, ...]) -> tuple[Key, ...]:
    """Run-table columns filled from result.json keys of these value types, in key order."""
    return tuple(
        Key(k.column, k.kind, k.unit, k.meaning)
        for k in RESULT_JSON
        if k.column is not None and k.kind in kinds
    )


RUN_TABLE: tuple[Key, ...] = (
    Key("run_dir", TEXT, NO_UNIT, "path of the run folder"),
    Key("run_name", TEXT, NO_UNIT, "run folder relative to the collected root ('.' for it)"),
    *CONFIG_COLUMNS,
    Key("sigma2_mode", TEXT, NO_UNIT, "'fixed', 'learned', 'optimal' or 'none' (Bernoulli)"),
    Key("sigma2_rule", TEXT, NO_UNIT, "how σ² was set, e.g. 'learned (adam, lr 0.0005) → "
        "optimal at step 1000'"),
    Key("status", TEXT, NO_UNIT, "result.json's status, or 'incomplete' (metrics.csv only), "
        "'missing' (nothing written yet), 'corrupt' (a file could not be read)"),
    Key("error", TEXT, NO_UNIT, "why the folder is corrupt, or a failed job's error"),
    *_result_columns((INT, FLOAT)),
    Key("collapse_integrated", FLOAT, FRACTION, "ε-averaged collapsed fraction (trapezoid "
        "integral of collapse_curve over collapse_eps, divided by the ε range)"),
    *_result_columns((FLOATS,)),
    *_result_columns((TEXT,)),
)  # fmt: skip

#: the run-table columns every long table (tidy, collapse and training curves) carries
LONG_TABLE_ID_COLUMNS: tuple[str, ...] = (
    "run_dir",
    "run_name",
    "experiment",
    "dataset",
    "model",
    "latent_dim",
    "objective",
    "encoder",
    "likelihood",
    "sigma2_mode",
    "sigma2_rule",
    "sigma2",
    "max_steps",
    "kl_anneal_steps",
    "subset_seed",
    "seed",
    "status",
)
#: the run-table number columns :func:`lucas2019.results.tidy` melts into (metric, value) rows
TIDY_METRICS: tuple[str, ...] = (
    "step",
    "elbo",
    "elbo_test",
    "rec",
    "kl",
    "mse",
    "sigma2_final",
    "sigma2_optimal",
    "active_units",
    "collapsed_fraction",
    "collapse_integrated",
    "log_px_test",
    "wall_time_s",
)

METRICS_CSV_COLUMNS: tuple[str, ...] = tuple(k.name for k in METRICS_CSV)
RESULT_JSON_KEYS: tuple[str, ...] = tuple(k.name for k in RESULT_JSON)
WANDB_SUMMARY_KEYS: tuple[str, ...] = tuple(k.name for k in RESULT_JSON if k.wandb_summary)
RUN_TABLE_COLUMNS: tuple[str, ...] = tuple(k.name for k in RUN_TABLE)


def _table(keys: tuple[Key, ...], result_columns: bool = False) -> list[str]:
    """Markdown table rows of ``keys``: name, type, unit, meaning (+ run-table column, W&B)."""
    head = "| name | type | unit | meaning |"
    if result_columns:
        head += " run-table column | W&B summary |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for k in keys:
        meaning = k.meaning.replace("|", "\\|")  # a bare | would end the cell
        line = f"| `{k.name}` | {k.kind} | {k.unit} | {meaning} |"
        if result_columns:
            column = f"`{k.column}`" if k.column else ""
            line += f" {column} | {'yes' if k.wandb_summary else ''} |"
        lines.append(line)
    return lines


def reference_markdown() -> str:
    """docs/run_folder.md: every file column, result key and table column defined here."""
    names = ", ".join(f"`{name}`" for name in LONG_TABLE_ID_COLUMNS)
    tidy = ", ".join(f"`{name}`" for name in TIDY_METRICS)
    lines = [
        "# What a run folder holds",
        "",
        "Generated from `lucas2019/run_schema.py` by",
        "`python -m lucas2019.run_schema > docs/run_folder.md`; tests/test_run_schema.py checks",
        "that the two agree and that a real training run writes exactly these columns and keys.",
        "",
        "A run folder (`lucas2019.trainer`) holds `config.yaml` (the resolved config),",
        "`metrics.csv`, `result.json` and `checkpoint.pt`, each written atomically. A multirun",
        "job that failed or was refused records its error instead",
        "(`lucas2019.run_folder.record_job_error`).",
        "",
        "## metrics.csv: one row per evaluation",
        "",
        "W&B logs each row as `train/<name>` at step `step`.",
        "",
        *_table(METRICS_CSV),
        "",
        "## result.json: the final numbers",
        "",
        *_table(RESULT_JSON, result_columns=True),
        "",
        "## The run table: one row per run folder (`lucas2019.results.collect_runs`)",
        "",
        *_table(RUN_TABLE),
        "",
        f"The long tables (`tidy`, `collapse_curves`, `training_curves`) carry {names}.",
        f"`tidy` melts {tidy}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
