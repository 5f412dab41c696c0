"""The claims table: what each claim says, what kind of claim it is, and how its verdict is defined.

:data:`CLAIMS` holds one :class:`Claim` per claim; a claim has one :class:`Definition` per place it
is judged (C3a on Figure 3 and on Figure 4). A definition names its primary measure and the
measures reported beside it, the per-seed statistics its verdict computes and the criteria they
must meet (threshold and direction), the minimum training length and the minimum number of seeds,
when a run it reads counts as converged, each with a one-line reason. Verdict code reads its
thresholds from here only.

:func:`table_hash` fingerprints this table together with the interval method of
:mod:`paper_figures.stats`. The log of definitions in docs/claims.md records every change with the
hash it produced, and a test fails when the table's hash is not the newest entry's: a threshold
cannot change unrecorded, for instance after seeing a result. The claims' descriptions in that
file are generated from this table::

    python -m paper_figures.claims docs/claims.md            # rewrite the generated block
    python -m paper_figures.claims docs/claims.md --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from paper_figures import stats
from paper_figures.common import with_generated_block, write_or_check

REPRODUCTION = "reproduction"
IMPLEMENTATION_CHECK = "implementation check"
BEYOND_THE_PAPER = "beyond the paper"
KINDS = (REPRODUCTION, IMPLEMENTATION_CHECK, BEYOND_THE_PAPER)
#: measures by name: what a definition's statistics are computed from
MEASURES = {
    "relative_gap": "|ELBO − log p| / max(1, |log p|) at the optimum for each k, on the "
    "learned-σ² rows (all rows if there are none)",
    "likelihood_increments": "increments of log p between consecutive k, before and after "
    "k* = #{λ_i > σ²}, for each fixed σ² whose grid of k passes k*",
    "final_elbo": "final ELBO: the median ELBO over the last tail_fraction of the logged steps "
    "[nats per example], against the pPCA MLE log p (learned σ²) at the runs' k",
    "steps_to_tolerance": "training steps to the optimum: the first logged step from which the "
    "ELBO stays within the tolerance of the pPCA MLE log p (learned σ²) at the runs' k",
    "eps_delta": "(ε, δ)-collapsed fraction at ε = 0.01 nats, δ = 0.01: 1 − non-collapsed "
    "latents / k (column collapsed_fraction)",
    "integrated": "ε-integrated collapse curve (ε ∈ [0, 2], δ = 0.01)",
    "active_units": "1 − active units / k (a latent is active when Var_x E_q[z_i] ≥ 0.01)",
    "mutual_information": "I(x; z) [nats], aggregate-posterior estimate, at most log n "
    "(column mutual_information): information, not a count of latents",
    "heldout_log_px_at_live": "held-out log p(x) [nats per example], importance-weighted "
    "(trainer.iw_samples samples, column log_px_test), against live latents = k × (1 − "
    "(ε, δ)-collapsed fraction at ε = δ = 0.01) on the training set",
    "elbo_gap": "ELBO gap of a σ² rule: ELBO from the smallest initial σ² minus ELBO from the "
    "largest [nats per example]",
}
#: the collapse measures that are a fraction of the k latents (comparable with the prediction)
COLLAPSE_FRACTIONS = ("eps_delta", "integrated", "active_units")
#: every collapse measure: each collapse verdict reports all of them, its primary one first
COLLAPSE_MEASURES = (*COLLAPSE_FRACTIONS, "mutual_information")
#: a criterion's direction: the statistic must stand in this relation to the threshold
DIRECTIONS = (">", ">=", "<", "<=")


@dataclass(frozen=True)
class Criterion:
    """One per-seed statistic (``statistic``, what it is in ``meaning``, with units) and the side
    of ``threshold`` on which the claim holds (``direction``: ``statistic direction threshold``)."""

    statistic: str
    meaning: str
    direction: str
    threshold: float
    reason: str

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"criterion {self.statistic!r}: direction must be one of {DIRECTIONS}, "
                f"got {self.direction!r}."
            )

    def text(self) -> str:
        """e.g. 'spearman_sigma2 ≥ 0.9'."""
        symbol = {">=": "≥", "<=": "≤"}.get(self.direction, self.direction)
        return f"{self.statistic} {symbol} {self.threshold:g}"


@dataclass(frozen=True)
class Requirement:
    """A part of a claim (e.g. 'rises'): met when every criterion of one of its ``ways`` is."""

    name: str
    ways: tuple[tuple[Criterion, ...], ...]


def requires(name: str, *criteria: Criterion) -> Requirement:
    """A requirement met in one way: every one of ``criteria``."""
    return Requirement(name, (tuple(criteria),))


def either(name: str, *ways: tuple[Criterion, ...]) -> Requirement:
    """A requirement met in any of several ``ways`` (each a tuple of criteria, all needed)."""
    return Requirement(name, tuple(ways))


@dataclass(frozen=True)
class Parameter:
    """A number a statistic is computed with (not a threshold the verdict compares against)."""

    name: str
    value: float
    reason: str


@dataclass(frozen=True)
class Convergence:
    """When a run read by a verdict counts as converged, judged on its metrics.csv.

    Over the last ``window`` share of the logged steps: the ELBO's change may be at most
    ``max_elbo_share`` of its change from the first logged step to the last, or at most
    ``elbo_floor`` nats per example (a flat curve's share measures evaluation jitter), and (if not
    None)
    the collapsed fraction at (ε, δ) = (0.01, 0.01) may move by at most ``max_collapse_change``.
    With ``escape_factor`` (not None), the run escapes its collapsed start at the first
    evaluation where the closed-form optimal σ² (the E_q squared error per dimension) is below
    ``escape_factor`` × the data's total variance per dimension; an escape inside the window is
    too late. An unconverged run's verdict suggests ``lengthen`` × its steps.
    """

    window: Parameter
    max_elbo_share: Parameter
    elbo_floor: Parameter
    lengthen: Parameter
    max_collapse_change: Parameter | None = None
    escape_factor: Parameter | None = None

    def parameters(self) -> tuple[Parameter, ...]:
        """Every parameter that is set, in declaration order."""
        named = (
            self.window,
            self.max_elbo_share,
            self.elbo_floor,
            self.max_collapse_change,
            self.escape_factor,
            self.lengthen,
        )
        return tuple(p for p in named if p is not None)


@dataclass(frozen=True)
class Definition:
    """How one verdict on a claim is computed.

    Attributes:
        key: '<claim>/<figure>', e.g. 'C4/fig7'.
        judged_on: the runs or tables it reads.
        measure: the primary measure the statistics are computed from (a :data:`MEASURES` name),
            and ``measure_reason``.
        requirements: all must be met for the claim to hold (see :class:`Requirement`).
        min_steps: runs shorter than this [training steps] are not judged; ``min_steps_reason``.
        min_seeds: fewer judged seeds than this give "cannot judge"; 1 for a closed-form
            computation, which has no seeds; ``min_seeds_reason``.
        parameters: numbers the statistics are computed with.
        other_measures: measures reported beside the primary one, each with the outcome the
            definition would have under it and whether that agrees.
        convergence: when a run it reads counts as converged (None: nothing is trained); a
            verdict reading an unconverged run cannot judge.
    """

    key: str
    judged_on: str
    measure: str
    measure_reason: str
    requirements: tuple[Requirement, ...]
    min_steps: int
    min_steps_reason: str
    min_seeds: int
    min_seeds_reason: str
    parameters: tuple[Parameter, ...] = ()
    other_measures: tuple[str, ...] = ()
    convergence: Convergence | None = None

    def __post_init__(self) -> None:
        unknown = [m for m in (self.measure, *self.other_measures) if m not in MEASURES]
        if unknown:
            raise ValueError(
                f"{self.key}: measure must be one of {list(MEASURES)}, got {unknown[0]!r}."
            )

    @property
    def claim(self) -> str:
        """The claim id, e.g. 'C4'."""
        return self.key.split("/")[0]

    def criteria(self) -> tuple[Criterion, ...]:
        """Every criterion of every requirement, in order."""
        return tuple(c for r in self.requirements for way in r.ways for c in way)

    def parameter(self, name: str) -> float:
        """The value of parameter ``name``."""
        for p in self.parameters:
            if p.name == name:
                return p.value
        raise KeyError(f"{self.key} has no parameter {name!r}; it has {self.parameters}.")


@dataclass(frozen=True)
class Claim:
    """A claim: ``id`` (C1-C7), one-line ``statement``, ``kind`` (see :data:`KINDS`) with its
    ``kind_reason``, and the ``definitions`` of its verdicts."""

    id: str
    statement: str
    kind: str
    kind_reason: str
    definitions: tuple[Definition, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind must be one of {KINDS}, got {self.kind!r}.")
        stray = [d.key for d in self.definitions if d.claim != self.id]
        if stray:
            raise ValueError(f"claim {self.id}: definitions {stray} belong to another claim.")


# ---------------------------------------------------------------- shared choices

_CLOSED_FORM = {
    "min_steps": 0,
    "min_steps_reason": "nothing is trained",
    "min_seeds": 1,
    "min_seeds_reason": "one deterministic closed-form sweep: there is nothing to resample",
}
_SEEDS = {
    "min_seeds": 3,
    "min_seeds_reason": (
        "the fewest seeds whose t interval is narrow enough to read: with 2 it spans ±12.7 "
        "standard errors, with 3 ±4.3"
    ),
}
_TRAINED = {
    **_SEEDS,
    "min_steps": 1000,
    "min_steps_reason": (
        "an unused latent's KL takes hundreds of steps to fall below ε, so a shorter run "
        "overstates the live latents"
    ),
}
_TAIL = Parameter(
    "tail_fraction",
    0.2,
    "the last fifth of the logged steps: past the transient, long enough to average evaluation "
    "noise",
)
_C3_STEPS_REASON = "a shorter run judges the climb's transient, not where training ends"
_FINAL_ELBO_REASON = "the median of the tail ignores one evaluation spike; the MLE is the optimum"
#: C3's tolerance around the pPCA MLE [nats per example]
_TOLERANCE_NATS = 0.5
_TOLERANCE_REASON = (
    "far below what any one latent adds to the MLE at the presets' k (the 32nd latent adds 8 "
    "nats on MNIST), so a run within it has found every latent; far above float32 round-off"
)
_TOLERANCE = Parameter("tolerance", _TOLERANCE_NATS, f"C3a's tolerance: {_TOLERANCE_REASON}")

# When a run counts as converged (see Convergence).
_WINDOW = Parameter(
    "window", 0.2, "the last fifth of the logged steps, the window of the final ELBO"
)
_ELBO_SHARE = Parameter(
    "max_elbo_share",
    0.05,
    "an exponential approach whose time constant is under a third of the run makes less than "
    "5% of its total change in the last fifth; a straight rise makes 20%",
)
_ELBO_FLOOR = Parameter(
    "elbo_floor",
    _TOLERANCE_NATS,
    "nats per example: a change below C3a's tolerance counts as settled whatever its share; on a "
    "flat curve (every latent collapsed) the share measures evaluation jitter",
)
_LENGTHEN = Parameter(
    "lengthen",
    2.0,
    "an unconverged run is suggested twice its steps: its curve is not extrapolated",
)
_COLLAPSE_CONVERGENCE = Convergence(
    _WINDOW,
    _ELBO_SHARE,
    _ELBO_FLOOR,
    _LENGTHEN,
    max_collapse_change=Parameter(
        "max_collapse_change",
        0.02,
        "the (ε, δ)-collapsed fraction, the collapse verdicts' primary measure, moves by at most "
        "one latent in 50 over the window: unused latents whose KL still decays towards ε move it",
    ),
    escape_factor=Parameter(
        "escape_factor",
        0.95,
        "the collapsed start reconstructs every example by the data mean, an error per dimension "
        "equal to the total variance per dimension; 5% below it is a live latent, not "
        "evaluation noise (one live latent along MNIST's first direction removes about 11%)",
    ),
)
_ELBO_CONVERGENCE = Convergence(_WINDOW, _ELBO_SHARE, _ELBO_FLOOR, _LENGTHEN)
_OTHER_COLLAPSE = ("active_units", "integrated", "mutual_information")
_PRIMARY_COLLAPSE_REASON = (
    "the paper's definition of a collapsed latent (section 6); the other measures are reported "
    "beside it"
)

_C4_RISES = either(
    "rises",
    (
        Criterion(
            "spearman_sigma2",
            "Spearman ρ between σ² and the collapsed fraction over the σ² grid",
            ">=",
            0.9,
            "near-perfect agreement of the ranks over the grid",
        ),
    ),
    (
        Criterion(
            "largest_drop",
            "largest fall of the collapsed fraction from one σ² to the next larger one",
            "<=",
            0.02,
            "ties at 0% and 100% lower ρ without breaking monotonicity; 2% is one latent in 50",
        ),
        Criterion(
            "overall_rise",
            "collapsed fraction at the largest σ² minus that at the smallest",
            ">",
            0.02,
            "a flat curve does not rise",
        ),
    ),
)
_C4_LEVEL = requires(
    "the level matches the linear prediction",
    Criterion(
        "mean_level_error",
        "mean over the σ² grid of |predicted − measured live latents| / k, predicted = "
        "min(k, #{λ_i > σ²}), measured = k − collapsed latents",
        "<=",
        0.1,
        "the linear theory sets a deep VAE's level, not each latent; on the paper's grid the "
        "prediction alone ranks σ² with ρ = 0.975, so only the level can fail",
    ),
)
_C5_REQUIREMENTS = (
    requires(
        "removes most",
        Criterion(
            "reduction",
            "1 − mean learned-σ² collapse / mean fixed-σ² collapse over the σ² values run both "
            "ways from which a learned σ² could reach its optimum (for a learned σ², its initial "
            "value)",
            ">=",
            0.5,
            "'most' read as at least half",
        ),
    ),
    requires(
        "leaves some",
        Criterion(
            "left_at_largest",
            "collapsed fraction of the learned-σ² run from the largest initial σ² that could "
            "reach its optimum",
            ">=",
            0.05,
            "'some' read as at least one latent in 20",
        ),
    ),
)
_C5_FIXED_AND_LEARNED = "runs without annealing, fixed and learned σ² paired by σ² and seed"
_C5_REACH = Parameter(
    "reach_share",
    0.5,
    "a learned σ² is judged only from initial values it could leave for its optimum (the run's "
    "final closed-form optimal σ²) in this share of training: Adam moves log σ² by at most "
    "about its learning rate per step, so it needs |log σ²_init − log σ²_optimal| ≤ lr · "
    "steps · reach_share; the rest of training is left for the latents to follow",
)


# ---------------------------------------------------------------- the table

CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in (
        Claim(
            "C1",
            "optimal linear-VAE ELBO equals the pPCA MLE log-likelihood for every k",
            IMPLEMENTATION_CHECK,
            "both sides come from the same closed-form sums over the spectrum, so it cannot fail "
            "on working code; the version that could (an explicit optimum scored on the data "
            "against scikit-learn's PCA) is a test",
            (
                Definition(
                    "C1/fig2",
                    "likelihood_vs_k.csv: the linear-VAE optimum for every k (Figure 2)",
                    "relative_gap",
                    "relative, so that one tolerance serves every dataset",
                    (
                        requires(
                            "equal",
                            Criterion(
                                "max_relative_gap",
                                "largest relative gap over k",
                                "<",
                                1e-6,
                                "float64 sums agree to about 1e-12; a modelling error is far "
                                "above 1e-6",
                            ),
                        ),
                    ),
                    **_CLOSED_FORM,
                ),
            ),
        ),
        Claim(
            "C2",
            "with σ² fixed, log-likelihood stops improving once λ_k ≤ σ²",
            IMPLEMENTATION_CHECK,
            "the closed form builds the plateau in, so it cannot fail on working code; the "
            "version that could (linear VAEs trained by gradient at fixed σ²) is a test",
            (
                Definition(
                    "C2/fig2",
                    "likelihood_vs_k.csv: fixed-σ² rows, and the spectrum (Figure 2)",
                    "likelihood_increments",
                    "the plateau is the claim: every live latent adds likelihood, none after k*",
                    (
                        requires(
                            "rises before k*",
                            Criterion(
                                "min_increment_before",
                                "smallest increment of log p while k < k* [nats per example]",
                                ">",
                                0.0,
                                "each latent with λ > σ² adds likelihood",
                            ),
                        ),
                        requires(
                            "flat from k*",
                            Criterion(
                                "max_increment_after",
                                "largest |increment| of log p from k* on, relative to "
                                "max(1, max |log p|)",
                                "<=",
                                1e-6,
                                "the plateau is exact in closed form; 1e-6 absorbs float64 "
                                "rounding",
                            ),
                        ),
                    ),
                    **_CLOSED_FORM,
                ),
            ),
        ),
        Claim(
            "C3a",
            "gradient training of the linear VAE reaches the analytic optimum",
            REPRODUCTION,
            "the paper's claim, judged on trained models",
            (
                Definition(
                    "C3a/fig3",
                    "fig3_linear_vae: a linear VAE with the analytic and one with the stochastic "
                    "ELBO per seed (Figure 3)",
                    "final_elbo",
                    f"{_FINAL_ELBO_REASON}; in nats, because the tolerance comes from the "
                    "problem, not from the size of the ELBO",
                    (
                        requires(
                            "reaches the MLE",
                            Criterion(
                                "max_gap",
                                "the larger |final ELBO − MLE| of the two objectives [nats per "
                                "example]",
                                "<=",
                                _TOLERANCE_NATS,
                                _TOLERANCE_REASON,
                            ),
                        ),
                        requires(
                            "no spike",
                            Criterion(
                                "max_drop",
                                "largest fall of the ELBO from one evaluation to the next, over "
                                "both objectives and the whole run [nats per example]",
                                "<=",
                                _TOLERANCE_NATS,
                                "a fall larger than the tolerance leaves the band around the "
                                "optimum: an unstable learning rate, not sampling noise (the "
                                "logged ELBO reuses its random numbers, so its curve is smooth)",
                            ),
                        ),
                    ),
                    parameters=(_TAIL,),
                    min_steps=1000,
                    min_steps_reason=_C3_STEPS_REASON,
                    convergence=_ELBO_CONVERGENCE,
                    **_SEEDS,
                ),
                Definition(
                    "C3a/fig4",
                    "fig4_encoders: a linear decoder with a linear, a deep linear and an MLP "
                    "encoder per seed (Figure 4)",
                    "final_elbo",
                    _FINAL_ELBO_REASON,
                    (
                        requires(
                            "none above the MLE",
                            Criterion(
                                "max_excess",
                                "largest (final ELBO − MLE) / max(1, |MLE|) over the encoders",
                                "<=",
                                1e-3,
                                "no ELBO exceeds the likelihood; 1e-3 of |MLE| allows "
                                "evaluation noise",
                            ),
                        ),
                        requires(
                            "each close below it",
                            Criterion(
                                "max_shortfall",
                                "largest (MLE − final ELBO) / max(1, |MLE|) over the encoders",
                                "<=",
                                0.05,
                                "the paper's encoders approach the MLE without reaching it; 5% "
                                "of |MLE| is that reading",
                            ),
                        ),
                    ),
                    parameters=(_TAIL,),
                    min_steps=1000,
                    min_steps_reason=_C3_STEPS_REASON,
                    convergence=_ELBO_CONVERGENCE,
                    **_SEEDS,
                ),
            ),
        ),
        Claim(
            "C3b",
            "the analytic ELBO gets to the optimum in fewer steps than the stochastic one",
            REPRODUCTION,
            "the paper's claim (its 'less noise'), judged on trained models by the steps to the "
            "optimum; the stochastic objective's noise at fixed parameters is reported, not "
            "judged, because the analytic one has none by construction",
            (
                Definition(
                    "C3b/fig3",
                    "fig3_linear_vae: a linear VAE with the analytic and one with the stochastic "
                    "ELBO per seed (Figure 3)",
                    "steps_to_tolerance",
                    "what less noise buys in training; staying within the tolerance from then on "
                    "ignores a passing visit",
                    (
                        requires(
                            "faster",
                            Criterion(
                                "step_difference",
                                "stochastic minus analytic steps to the tolerance [training "
                                "steps]; a run that never stays within it counts as arriving one "
                                "evaluation after its end, a bound on the difference",
                                ">",
                                0.0,
                                "fewer steps for the analytic objective, at the resolution of the "
                                "logged evaluations",
                            ),
                        ),
                    ),
                    parameters=(_TOLERANCE,),
                    min_steps=1000,
                    min_steps_reason=_C3_STEPS_REASON,
                    convergence=_ELBO_CONVERGENCE,
                    **_SEEDS,
                ),
            ),
        ),
        Claim(
            "C4a",
            "collapse rises monotonically with fixed σ²",
            REPRODUCTION,
            "the paper's claim, judged on trained models",
            (
                Definition(
                    "C4a/fig5",
                    "fig5_fixed_sigma: deep VAEs at each fixed σ², without annealing (Figure 5)",
                    "eps_delta",
                    _PRIMARY_COLLAPSE_REASON,
                    (_C4_RISES,),
                    other_measures=_OTHER_COLLAPSE,
                    convergence=_COLLAPSE_CONVERGENCE,
                    **_TRAINED,
                ),
            ),
        ),
        Claim(
            "C4b",
            "the linear prediction min(k, #{λ_i > σ²}) sets the level of live latents at each "
            "fixed σ²",
            REPRODUCTION,
            "the paper's claim that the prediction tracks collapse, judged by its level: its ranks "
            "alone follow σ² whatever the measurement",
            (
                Definition(
                    "C4b/fig7",
                    "fig5_fixed_sigma: deep VAEs at each fixed σ², without annealing (Figure 7)",
                    "eps_delta",
                    _PRIMARY_COLLAPSE_REASON,
                    (_C4_LEVEL,),
                    other_measures=_OTHER_COLLAPSE,
                    convergence=_COLLAPSE_CONVERGENCE,
                    **_TRAINED,
                ),
            ),
        ),
        Claim(
            "C5",
            "learning σ² removes most of the collapse; a large initial σ² leaves some",
            REPRODUCTION,
            "the paper's claim, judged on trained models",
            (
                Definition(
                    "C5/fig6",
                    f"fig6_learned_sigma with fig5_fixed_sigma: {_C5_FIXED_AND_LEARNED} (Figure 6)",
                    "eps_delta",
                    _PRIMARY_COLLAPSE_REASON,
                    _C5_REQUIREMENTS,
                    parameters=(_C5_REACH,),
                    other_measures=_OTHER_COLLAPSE,
                    convergence=_COLLAPSE_CONVERGENCE,
                    **_TRAINED,
                ),
                Definition(
                    "C5/table1",
                    f"table1: {_C5_FIXED_AND_LEARNED} (Table 1)",
                    "eps_delta",
                    _PRIMARY_COLLAPSE_REASON,
                    _C5_REQUIREMENTS,
                    parameters=(_C5_REACH,),
                    other_measures=_OTHER_COLLAPSE,
                    convergence=_COLLAPSE_CONVERGENCE,
                    **_TRAINED,
                ),
            ),
        ),
        Claim(
            "C6",
            "KL annealing only delays collapse",
            REPRODUCTION,
            "the paper's claim, judged on trained models",
            (
                Definition(
                    "C6/table1",
                    "table1: each annealed run against the run without annealing at the same "
                    "σ², likelihood and seed (Table 1)",
                    "eps_delta",
                    f"{_PRIMARY_COLLAPSE_REASON}; logged at every evaluation, so it is known at "
                    "the end of annealing",
                    (
                        requires(
                            "collapse returns",
                            Criterion(
                                "min_rebound",
                                "smallest rise of collapse from the end of annealing to the end "
                                "of training, over the judged pairs",
                                ">",
                                0.0,
                                "a delay means collapse comes back",
                            ),
                        ),
                        requires(
                            "to the level without annealing",
                            Criterion(
                                "max_final_gap",
                                "largest |final collapse − collapse without annealing| over the "
                                "judged pairs",
                                "<=",
                                0.1,
                                "'only delays': the end states match within 10% of the latents",
                            ),
                        ),
                    ),
                    parameters=(
                        Parameter(
                            "lowered_by",
                            0.1,
                            "a pair is judged only where collapse at the end of annealing is "
                            "this far below the partner's final collapse: elsewhere annealing "
                            "had nothing to delay",
                        ),
                    ),
                    other_measures=_OTHER_COLLAPSE,
                    convergence=_COLLAPSE_CONVERGENCE,
                    **_TRAINED,
                ),
            ),
        ),
        Claim(
            "C7",
            "the worse ELBO a large initial learned σ² ends with is a local optimum: it stays "
            "when σ² reaches its optimum fast (fails = it was the slow σ² optimiser)",
            BEYOND_THE_PAPER,
            "the paper does not ask it; it tells whether C5's result at a large initial σ² is "
            "the model's or the optimiser's",
            (
                Definition(
                    "C7/fig8",
                    "sigma2_dynamics: each σ² rule from several initial σ², with its curves of σ² "
                    "and of its closed-form optimum (Figure 8); convergence is checked on the fast "
                    "rules' runs, since the slow rule's unsettled σ² is what the claim asks about",
                    "elbo_gap",
                    "the worse end state the claim is about, in the objective itself",
                    (
                        requires(
                            "the gap stays with a fast σ²",
                            Criterion(
                                "share_left",
                                "smallest share of the slow rule's ELBO gap that a fast rule "
                                "keeps (one fast rule closing it is enough to refute)",
                                ">",
                                0.5,
                                "a local optimum survives a fast σ²: more than half of the gap "
                                "must stay",
                            ),
                        ),
                    ),
                    parameters=(
                        Parameter(
                            "reach",
                            1.5,
                            "σ² within this factor of its closed-form optimum counts as there",
                        ),
                        Parameter(
                            "early",
                            0.5,
                            "a rule is fast when every run has σ² there by this share of its "
                            "training, slow otherwise",
                        ),
                    ),
                    min_steps=1000,
                    min_steps_reason=(
                        "log σ² moves by at most about its learning rate per Adam step, so a "
                        "shorter run leaves even a fast rule's σ² little time to settle"
                    ),
                    convergence=_COLLAPSE_CONVERGENCE,
                    **_SEEDS,
                ),
            ),
        ),
        Claim(
            "C8",
            "at equal live latents, no collapse mitigation beats a plain VAE with a well-chosen "
            "fixed σ² on held-out log p(x)",
            BEYOND_THE_PAPER,
            "the paper's thesis (σ², not the ELBO, decides collapse) applied to the fixes the "
            "field uses: is a fix more than a change of effective σ²?",
            (
                Definition(
                    "C8/fig9",
                    "mitigations: each mitigation (free bits per latent and on the total, "
                    "cyclical annealing, aggressive encoder) at each fixed σ² of its grid, "
                    "against the plain fixed-σ² runs of fig5_fixed_sigma of the same seed (same "
                    "model, data and length); the learned-σ² runs of fig6_learned_sigma are "
                    "drawn beside them, not judged. The plain frontier of a seed at L live "
                    "latents is the best held-out log p(x) of its plain runs that keep at least L "
                    "(at least as many as the plain run keeping the most, for a run beyond "
                    "them). Each mitigation's effective σ² (reported, not judged) is the fixed "
                    "σ² at which an isotonic (decreasing) fit of the plain runs' live latents on "
                    "log σ², pooled over seeds, keeps as many live latents; its interval is "
                    "Student's t over seeds of log σ²",
                    "heldout_log_px_at_live",
                    "a fix is worth its cost only if it buys likelihood on unseen data that the "
                    "right σ² does not; live latents by the paper's (ε, δ) definition, as C4–C6",
                    (
                        requires(
                            "no mitigation beats the plain frontier",
                            Criterion(
                                "max_advantage",
                                "largest held-out log p(x) of any mitigation run above the "
                                "plain frontier at its live latents [nats per example]",
                                "<=",
                                1.0,
                                "one nat per example: far above the importance-weighted "
                                "estimate's error, far below what one live latent adds on MNIST "
                                "(the 32nd latent adds 8 nats to the pPCA likelihood)",
                            ),
                        ),
                    ),
                    other_measures=("active_units",),
                    convergence=_COLLAPSE_CONVERGENCE,
                    **_TRAINED,
                ),
            ),
        ),
    )
}
#: every definition by key, e.g. DEFINITIONS['C4/fig7']
DEFINITIONS: dict[str, Definition] = {d.key: d for c in CLAIMS.values() for d in c.definitions}


#: The model seeds and data subsets (``dataset.subset_seed``) whose runs had been read when the
#: definitions were set (the log in docs/claims.md): a verdict on any of them is exploratory, even
#: when its definition was declared before its runs. Not part of the table's hash: it describes
#: the log, not a definition.
SET_ON_SEEDS: tuple[int, ...] = (0, 1, 2)
SET_ON_SUBSET_SEEDS: tuple[int, ...] = (0,)


def claim_of(definition: Definition) -> Claim:
    """The claim a definition belongs to."""
    return CLAIMS[definition.claim]


# ---------------------------------------------------------------- fingerprint


def canonical_json() -> str:
    """The table, the measures and the interval method as JSON with sorted keys (what
    :func:`table_hash` fingerprints)."""
    table = {
        "claims": [dataclasses.asdict(c) for c in CLAIMS.values()],
        "measures": MEASURES,
        "interval": {
            "confidence": stats.CONFIDENCE,
            "bootstrap_from": stats.BOOTSTRAP_FROM,
            "bootstrap_resamples": stats.BOOTSTRAP_RESAMPLES,
            "bootstrap_seed": stats.BOOTSTRAP_SEED,
            "methods": [stats.STUDENT_T, stats.BOOTSTRAP_T],
        },
    }
    return json.dumps(table, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def table_hash() -> str:
    """First 12 hex digits of the SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json().encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------- words


def criterion_lines(definition: Definition) -> list[str]:
    """One markdown bullet per requirement: its criteria with thresholds, meanings and reasons."""
    lines = []
    for requirement in definition.requirements:
        ways = [
            " and ".join(f"{c.text()} ({c.meaning}; {c.reason})" for c in way)
            for way in requirement.ways
        ]
        lines.append(f"- {requirement.name}: " + "; or ".join(ways))
    return lines


def definition_markdown(definition: Definition) -> str:
    """A definition in markdown: what it is judged on, its measure, requirements, parameters,
    minimum length and seeds, each with its reason."""
    claim = claim_of(definition)
    if definition.min_seeds == 1:
        amount = [f"- one computation, no seeds ({definition.min_seeds_reason})"]
    else:
        amount = [
            f"- at least {definition.min_steps} training steps ({definition.min_steps_reason})",
            f"- at least {definition.min_seeds} seeds ({definition.min_seeds_reason})",
        ]
    lines = [
        f"**{definition.key}** ({claim.kind}): {claim.statement}.",
        "",
        f"- judged on: {definition.judged_on}",
        f"- measure: {MEASURES[definition.measure]} ({definition.measure_reason})",
        *criterion_lines(definition),
        *[f"- parameter {p.name} = {p.value:g} ({p.reason})" for p in definition.parameters],
        *_other_measure_lines(definition),
        *_convergence_lines(definition.convergence),
        *amount,
    ]
    return "\n".join(lines)


def _other_measure_lines(definition: Definition) -> list[str]:
    """One bullet naming the measures reported beside the primary one (none: no bullet)."""
    if not definition.other_measures:
        return []
    names = ", ".join(definition.other_measures)
    return [
        f"- also reported: {names}, each with the outcome under it and whether that agrees "
        "(a measure that is not a fraction of the latents takes part in rank statistics only)"
    ]


def _convergence_lines(convergence: Convergence | None) -> list[str]:
    """The convergence criterion as bullets (none for closed-form definitions)."""
    if convergence is None:
        return []
    window = f"the last {convergence.window.value:.0%} of the logged steps"
    parts = [
        f"the ELBO changes over {window} by at most {convergence.max_elbo_share.value:g} of its "
        f"change over the run or by at most {convergence.elbo_floor.value:g} nats"
    ]
    if convergence.max_collapse_change is not None:
        parts.append(
            "the (ε, δ)-collapsed fraction moves by at most "
            f"{convergence.max_collapse_change.value:g} over the same window"
        )
    if convergence.escape_factor is not None:
        parts.append(
            "the run escapes its collapsed start (optimal σ² below "
            f"{convergence.escape_factor.value:g} × the data's total variance per dimension) "
            "before that window"
        )
    return [
        "- converged when: " + "; ".join(parts) + "; a verdict reading an unconverged run cannot "
        f"judge and suggests {convergence.lengthen.value:g} × its steps",
        *[f"  - {p.name} = {p.value:g} ({p.reason})" for p in convergence.parameters()],
    ]


def table_markdown() -> str:
    """Every claim and definition of the table in markdown, with the table's hash."""
    parts = [f"Claims table `{table_hash()}`."]
    for claim in CLAIMS.values():
        parts.append(f"### {claim.id}")
        parts.append(f"Kind: {claim.kind} ({claim.kind_reason}).")
        parts += [definition_markdown(d) for d in claim.definitions]
    return "\n\n".join(parts)


BEGIN = "<!-- claims table: generated by `python -m paper_figures.claims`; do not edit -->"
END = "<!-- /claims table -->"


def update_doc(doc: str | Path) -> tuple[str, str]:
    """(current text of ``doc``, its text with :func:`table_markdown` between BEGIN and END)."""
    return with_generated_block(doc, BEGIN, END, table_markdown())


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with --check, verify) the generated claims block of a markdown file."""
    parser = argparse.ArgumentParser(prog="python -m paper_figures.claims")
    parser.add_argument("doc", type=Path, help="markdown file holding the markers")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        current, generated = update_doc(args.doc)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    return write_or_check(args.doc, current, generated, args.check, "the claims block is stale")


if __name__ == "__main__":
    sys.exit(main())
