"""One verdict per claim: C1–C6 of the paper, and C7 (beyond the paper: local optimum or slow σ²
optimiser?), computed from numbers in results/analytic tables. docs/claims.md states each claim
with the measure and thresholds its verdict uses.

Every function returns a :class:`Verdict` whose ``holds`` is True, False, or None ("cannot
judge": data missing or runs too short) and whose ``detail`` states the numbers behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from paper_figures.common import (
    check_eigenvalues,
    learned_mask,
    metric_curve,
    missing_values,
    n_live,
    plain_rows,
    require_columns,
)
from paper_figures.theme import fmt_value

CLAIMS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
STATEMENTS = {
    "C1": "optimal linear-VAE ELBO equals the pPCA MLE log-likelihood for every k",
    "C2": "with σ² fixed, log-likelihood stops improving once λ_k ≤ σ²",
    "C3": "gradient training of the linear VAE reaches the analytic optimum",
    "C4": "collapse rises monotonically with fixed σ² and the linear prediction tracks it",
    "C5": "learning σ² removes most of the collapse; a large initial σ² leaves some",
    "C6": "KL annealing only delays collapse",
    "C7": (
        "the worse ELBO a large initial learned σ² ends with is a local optimum: it stays when σ² "
        "reaches its optimum fast (fails = it was the slow σ² optimiser)"
    ),
}
#: collapse measures: name -> description used in verdict details
MEASURES = {
    "integrated": "ε-integrated collapse curve (ε ∈ [0, 2], δ = 0.01)",
    "active_units": "1 − active units / k (Var_x E_q[z_i] ≥ 0.01)",
    "eps0.01": "collapsed fraction at ε = 0.01, δ = 0.01",
}


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one claim: ``holds`` True / False / None (cannot judge)."""

    claim: str
    statement: str
    holds: bool | None
    detail: str

    def __post_init__(self) -> None:
        if self.claim not in CLAIMS:
            raise ValueError(f"claim must be one of {CLAIMS}, got {self.claim!r}.")

    @property
    def outcome(self) -> str:
        """'holds', 'fails' or 'cannot judge'."""
        return {True: "holds", False: "fails", None: "cannot judge"}[self.holds]

    def line(self) -> str:
        """One line, e.g. 'C4: collapse rises ...: holds (Spearman ρ = 0.98)'."""
        return f"{self.claim}: {self.statement}: {self.outcome} ({self.detail})"

    def __str__(self) -> str:
        return self.line()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the outcome word added (for JSON)."""
        return {**asdict(self), "outcome": self.outcome}


def _v(claim: str, holds: bool | None, detail: str) -> Verdict:
    return Verdict(claim, STATEMENTS[claim], None if holds is None else bool(holds), detail)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def collapse_of(runs: pd.DataFrame, measure: str) -> pd.Series:
    """Collapsed fraction in [0, 1] of each run under ``measure`` (see :data:`MEASURES`).

    Needs ``collapse_integrated`` (integrated), ``active_units`` and ``latent_dim``
    (active_units) or ``collapsed_fraction`` (eps0.01).
    """
    if measure == "integrated":
        require_columns(runs, ["collapse_integrated"], "runs", "collect_runs() rows")
        return pd.to_numeric(runs["collapse_integrated"], errors="coerce")
    if measure == "active_units":
        require_columns(runs, ["active_units", "latent_dim"], "runs", "collect_runs() rows")
        au = pd.to_numeric(runs["active_units"], errors="coerce")
        return 1.0 - au / pd.to_numeric(runs["latent_dim"], errors="coerce")
    if measure == "eps0.01":
        require_columns(runs, ["collapsed_fraction"], "runs", "collect_runs() rows")
        return pd.to_numeric(runs["collapsed_fraction"], errors="coerce")
    raise ValueError(f"measure must be one of {list(MEASURES)}, got {measure!r}.")


def _rises(x: np.ndarray, y: np.ndarray, tol: float) -> bool:
    """y (sorted by x) never drops by more than ``tol`` and rises by more than ``tol`` overall."""
    y = y[np.argsort(x, kind="stable")]
    return bool(np.all(np.diff(y) >= -tol) and y[-1] - y[0] > tol)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


# ---------------------------------------------------------------- C1, C2: analytic sweep


def verdict_c1(sweep: pd.DataFrame, tol: float = 1e-6) -> Verdict:
    """C1 from an analytic sweep (columns ``sigma2``, ``n_latent``, ``log_likelihood``,
    ``elbo``; nats per example). Uses the learned-σ² (MLE) rows when there are any, else all rows;
    holds if max_k |ELBO − log p| / max(1, |log p|) < ``tol``."""
    require_columns(sweep, ["sigma2", "n_latent", "log_likelihood", "elbo"], "sweep", "sweep()")
    rows = sweep.loc[learned_mask(sweep)]
    rows = rows if len(rows) else sweep
    ll = pd.to_numeric(rows["log_likelihood"], errors="coerce").to_numpy(float)
    el = pd.to_numeric(rows["elbo"], errors="coerce").to_numpy(float)
    ok = np.isfinite(ll) & np.isfinite(el)
    if not ok.any():
        return _v("C1", None, "no row with both a finite ELBO and log-likelihood")
    gap = np.abs(el[ok] - ll[ok]) / np.maximum(1.0, np.abs(ll[ok]))
    worst = rows["n_latent"].to_numpy()[ok][int(np.argmax(gap))]
    detail = (
        f"max relative gap {gap.max():.2e} over {int(ok.sum())} values of k "
        f"(worst k = {worst}), tol {tol:g}"
    )
    return _v("C1", gap.max() < tol, detail)


def verdict_c2(sweep: pd.DataFrame, eigenvalues: Sequence[float], tol: float = 1e-6) -> Verdict:
    """C2 from the fixed-σ² rows of an analytic sweep (columns ``sigma2``, ``n_latent``,
    ``log_likelihood``) and the data-covariance ``eigenvalues`` (descending or not).

    For each fixed σ², with k* = #{λ_i > σ²}: every increment of log p between consecutive k
    that adds a live latent (k_prev < k*) must be > 0 and every later one (k_prev ≥ k*) must
    satisfy |Δ| ≤ tol · max(1, |log p|). Cannot judge when the grid never passes k*.
    """
    require_columns(sweep, ["sigma2", "n_latent", "log_likelihood"], "sweep", "sweep()")
    lam = check_eigenvalues(eigenvalues)
    fixed = sweep.loc[~learned_mask(sweep)].copy()
    if fixed.empty:
        return _v("C2", None, "no fixed-σ² rows in the sweep")
    fixed["s2"] = pd.to_numeric(fixed["sigma2"], errors="coerce")
    fixed = fixed.dropna(subset=["s2"])
    outcomes, parts = [], []
    for s2, grp in fixed.groupby("s2", sort=True):
        grp = grp.sort_values("n_latent")
        ks = grp["n_latent"].to_numpy(float)
        ll = pd.to_numeric(grp["log_likelihood"], errors="coerce").to_numpy(float)
        kstar = n_live(lam, s2)
        inc = np.diff(ll)
        before, after = inc[ks[:-1] < kstar], inc[ks[:-1] >= kstar]
        scale = max(1.0, float(np.nanmax(np.abs(ll))))
        if after.size == 0:
            outcomes.append(None)
            parts.append(f"σ²={fmt_value(s2)}: grid ends before the predicted plateau k*={kstar}")
            continue
        ok = bool(np.all(before > 0) and np.all(np.abs(after) <= tol * scale))
        outcomes.append(ok)
        b = f"{before.min():.3g}" if before.size else "n/a"
        parts.append(
            f"σ²={fmt_value(s2)}: plateau predicted at k={kstar}; min increment before {b} nats, "
            f"max |increment| after {np.abs(after).max():.1e} nats"
        )
    judged = [o for o in outcomes if o is not None]
    holds = None if not judged else all(judged)
    return _v("C2", holds, "; ".join(parts) + f"; tol {tol:g} (relative)")


# ---------------------------------------------------------------- C3: training curves


def _tail_stats(run: pd.DataFrame, tail_fraction: float) -> tuple[float, float, float]:
    """(median, std of step-to-step differences, last step) over the last part of a curve."""
    run = run.sort_values("step")
    n_tail = max(2, int(np.ceil(tail_fraction * len(run))))
    tail = run["value"].to_numpy(float)[-n_tail:]
    noise = float(np.std(np.diff(tail))) if tail.size > 1 else float("nan")
    return float(np.median(tail)), noise, float(run["step"].max())


def _per_group_tail(
    curves: pd.DataFrame, group: str, tail_fraction: float
) -> dict[str, tuple[float, float, float]]:
    """Mean over runs of :func:`_tail_stats` for each value of ``group``."""
    runs_col = "run_dir" if "run_dir" in curves.columns else group
    out = {}
    for name, grp in curves.groupby(group, sort=True):
        stats = np.array([_tail_stats(r, tail_fraction) for _, r in grp.groupby(runs_col)])
        out[str(name)] = (
            float(stats[:, 0].mean()),
            float(stats[:, 1].mean()),
            float(stats[:, 2].min()),
        )
    return out


def verdict_c3(
    curves: pd.DataFrame,
    mle: float,
    rel_tol: float = 0.01,
    tail_fraction: float = 0.2,
    min_steps: int = 0,
) -> Verdict:
    """C3 from linear-VAE training curves (columns ``objective`` ∈ {analytic, stochastic},
    ``step`` and ``elbo``, or the long training_curves table) and the pPCA MLE log p(x) [nats].

    Holds if, for both objectives, the median ELBO over the last ``tail_fraction`` of training is
    within ``rel_tol`` · max(1, |MLE|) of the MLE, and the analytic curve is less noisy there
    (std of step-to-step differences smaller than the stochastic one's).
    """
    elbo = metric_curve(curves, "elbo")
    require_columns(elbo, ["objective"], "curves", "linear-VAE training curves")
    stats = _per_group_tail(elbo, "objective", tail_fraction)
    absent = [o for o in ("analytic", "stochastic") if o not in stats]
    if absent:
        return _v("C3", None, f"no training curve for objective {absent}")
    short = {o: s[2] for o, s in stats.items() if s[2] < min_steps}
    if short:
        return _v("C3", None, f"runs too short: last step {short} < min_steps {min_steps}")
    scale = max(1.0, abs(float(mle)))
    gaps = {o: (float(mle) - stats[o][0]) for o in ("analytic", "stochastic")}
    reach = all(abs(g) <= rel_tol * scale for g in gaps.values())
    quieter = stats["analytic"][1] < stats["stochastic"][1]
    detail = (
        f"final ELBO − MLE: analytic {-gaps['analytic']:.3g}, stochastic {-gaps['stochastic']:.3g}"
        f" nats (tol {rel_tol * scale:.3g}); step-to-step std over the last "
        f"{tail_fraction:.0%}: analytic {stats['analytic'][1]:.3g}, "
        f"stochastic {stats['stochastic'][1]:.3g} nats"
    )
    return _v("C3", reach and quieter, detail)


def verdict_c3_encoders(
    curves: pd.DataFrame,
    mle: float,
    rel_tol: float = 0.05,
    exceed_tol: float = 1e-3,
    tail_fraction: float = 0.2,
    expected: Sequence[str] | None = ("linear", "deep_linear", "mlp"),
    min_steps: int = 0,
) -> Verdict:
    """C3 (Fig. 4) for a linear decoder trained with several encoders (column ``encoder``).

    Holds if no encoder's final ELBO (median over the last ``tail_fraction``) exceeds the MLE by
    more than ``exceed_tol`` · max(1, |MLE|) and each is within ``rel_tol`` · max(1, |MLE|) below.
    """
    elbo = metric_curve(curves, "elbo")
    require_columns(elbo, ["encoder"], "curves", "linear-decoder training curves")
    stats = _per_group_tail(elbo, "encoder", tail_fraction)
    absent = missing_values(stats, expected)
    if absent or not stats:
        return _v("C3", None, f"no training curve for encoder {absent}")
    short = {e: s[2] for e, s in stats.items() if s[2] < min_steps}
    if short:
        return _v("C3", None, f"runs too short: last step {short} < min_steps {min_steps}")
    scale = max(1.0, abs(float(mle)))
    diffs = {e: s[0] - float(mle) for e, s in stats.items()}
    beats = [e for e, d in diffs.items() if d > exceed_tol * scale]
    far = [e for e, d in diffs.items() if d < -rel_tol * scale]
    detail = ", ".join(f"{e}: {d:.3g}" for e, d in diffs.items())
    detail = f"final ELBO − MLE [nats]: {detail}; above MLE: {beats or 'none'}; "
    detail += f"further than {rel_tol * scale:.3g} below: {far or 'none'}"
    return _v("C3", not beats and not far, detail)


# ---------------------------------------------------------------- C4, C5, C6: deep VAE runs


def _judgeable(
    runs: pd.DataFrame, min_steps: int, expected: Sequence[float] | None
) -> tuple[pd.DataFrame, str | None]:
    """Completed runs, or a reason why the set cannot be judged."""
    require_columns(runs, ["sigma2", "status", "step"], "runs", "collect_runs() rows")
    done = runs.loc[runs["status"].astype(str) == "completed"]
    absent = missing_values(done["sigma2"], expected, "σ²=")
    if absent:
        return done, f"missing completed runs for {absent}"
    steps = pd.to_numeric(done["step"], errors="coerce")
    if len(done) and (steps.isna() | (steps < min_steps)).any():
        return done, f"runs too short: shortest has {steps.min():g} steps < min_steps {min_steps}"
    return done, None


def verdict_c4(
    runs: pd.DataFrame,
    eigenvalues: Sequence[float] | None = None,
    measure: str = "integrated",
    min_steps: int = 0,
    expected: Sequence[float] | None = None,
    rho_min: float = 0.9,
    rho_track_min: float = 0.8,
    mono_tol: float = 0.02,
) -> Verdict:
    """C4 from deep-VAE runs with fixed σ² (collect_runs rows: ``sigma2``, ``status``, ``step``,
    ``latent_dim`` + the columns of ``measure``; learned-σ² and annealed rows, recognised by
    ``sigma2_mode``/``likelihood`` and ``kl_anneal_steps``, are ignored), mean over seeds per σ².

    Rises: Spearman ρ(σ², collapse) ≥ ``rho_min``, or collapse never drops by more than
    ``mono_tol`` and rises overall (ties at 0 % / 100 % lower ρ without breaking monotonicity).
    Tracks (only with ``eigenvalues``): Spearman ρ between the predicted collapsed count
    k − min(k, #{λ_i > σ²}) and the measured collapse ≥ ``rho_track_min``.
    Cannot judge with fewer than 3 σ² values, missing ``expected`` σ², or runs < ``min_steps``.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {list(MEASURES)}, got {measure!r}.")
    done, reason = _judgeable(plain_rows(runs, "fixed"), min_steps, expected)
    if reason:
        return _v("C4", None, reason)
    table = pd.DataFrame(
        {
            "sigma2": pd.to_numeric(done["sigma2"], errors="coerce"),
            "collapse": collapse_of(done, measure),
        }
    ).dropna()
    per = table.groupby("sigma2")["collapse"].mean().sort_index()
    if len(per) < 3:
        return _v("C4", None, f"only {len(per)} fixed-σ² values with results (need ≥ 3)")
    x, y = np.log(per.index.to_numpy(float)), per.to_numpy(float)
    rho = _spearman(x, y)
    rises = (np.isfinite(rho) and rho >= rho_min) or _rises(x, y, mono_tol)
    steps = int(pd.to_numeric(done["step"]).min())
    detail = (
        f"measure: {MEASURES[measure]}; after ≥ {steps} steps; collapse "
        + ", ".join(f"σ²={fmt_value(s)}: {_pct(c)}" for s, c in per.items())
        + f"; Spearman ρ(σ², collapse) = {rho:.2f}"
    )
    if eigenvalues is None:
        return _v("C4", rises, detail + "; linear prediction not checked (no spectrum given)")
    lam = check_eigenvalues(eigenvalues)
    k = int(pd.to_numeric(done["latent_dim"], errors="coerce").median())
    pred = np.array([(k - n_live(lam, s, k)) / k for s in per.index])
    rho_t = _spearman(pred, y)
    if not np.isfinite(rho_t):
        tracks = bool(np.max(np.abs(pred - y)) <= mono_tol)
    else:
        tracks = rho_t >= rho_track_min
    detail += (
        "; predicted collapsed fraction "
        + ", ".join(_pct(p) for p in pred)
        + f", Spearman ρ(predicted, measured) = {rho_t:.2f}, "
        f"mean |predicted − measured| = {_pct(float(np.mean(np.abs(pred - y))))}"
    )
    return _v("C4", bool(rises and tracks), detail)


def verdict_c5(
    runs: pd.DataFrame,
    measure: str = "integrated",
    min_reduction: float = 0.5,
    some: float = 0.05,
    min_steps: int = 0,
) -> Verdict:
    """C5 from deep-VAE runs with fixed and with learned σ² (collect_runs rows: ``sigma2``
    (fixed / initial value), ``sigma2_mode`` or ``likelihood``, ``status``, ``step`` + the
    ``measure`` columns); no-annealing runs only.

    Over the σ² values present in both settings: mean learned collapse ≤ (1 − ``min_reduction``)
    × mean fixed collapse, and the learned run with the largest initial σ² keeps ≥ ``some``.
    """
    if not {"sigma2_mode", "likelihood"} & set(getattr(runs, "columns", [])):
        raise ValueError(
            "runs needs a sigma2_mode or likelihood column to tell fixed from learned σ²; "
            "pass the table of lucas2019.results.collect_runs()."
        )
    fixed, reason_f = _judgeable(plain_rows(runs, "fixed"), min_steps, None)
    learned, reason_l = _judgeable(plain_rows(runs, "learned"), min_steps, None)
    if reason_f or reason_l:
        return _v("C5", None, reason_f or reason_l or "")

    def per_sigma(df: pd.DataFrame) -> pd.Series:
        t = pd.DataFrame(
            {"s": pd.to_numeric(df["sigma2"], errors="coerce"), "c": collapse_of(df, measure)}
        )
        return t.dropna().groupby("s")["c"].mean()

    pf, pl = per_sigma(fixed), per_sigma(learned)
    common = [s for s in pl.index if np.any(np.isclose(pf.index, s, rtol=1e-6))]
    if not common:
        return _v("C5", None, "no σ² value has both a fixed and a learned completed run")
    mf = float(np.mean([pf[pf.index[np.isclose(pf.index, s, rtol=1e-6)]].iloc[0] for s in common]))
    ml = float(pl[common].mean())
    if mf <= 0:
        return _v("C5", None, "fixed-σ² runs show no collapse to remove")
    reduction = 1.0 - ml / mf
    s_max = max(pl.index)
    left = float(pl[s_max])
    detail = (
        f"measure: {MEASURES[measure]}; mean collapse fixed {_pct(mf)} vs learned {_pct(ml)} over "
        f"σ² ∈ {{{', '.join(fmt_value(s) for s in common)}}} (reduction {_pct(reduction)}, "
        f"need ≥ {_pct(min_reduction)}); largest initial σ² = {fmt_value(s_max)} leaves "
        f"{_pct(left)} (need ≥ {_pct(some)})"
    )
    return _v("C5", reduction >= min_reduction and left >= some, detail)


def _curve_collapse(curve: pd.DataFrame, measure: str, k: float) -> pd.Series:
    """Collapse fraction over steps from a run's metrics (indexed by step)."""
    if measure == "active_units":
        c = metric_curve(curve, "active_units")
        return (1.0 - c["value"] / k).set_axis(c["step"])
    c = metric_curve(curve, "collapsed_fraction")
    return c["value"].set_axis(c["step"])


def verdict_c6(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    measure: str = "active_units",
    tol: float = 0.1,
    min_steps: int = 0,
) -> Verdict:
    """C6 from runs with and without KL annealing (collect_runs rows: ``run_dir``, ``sigma2``,
    ``kl_anneal_steps``, ``latent_dim``, ``status``, ``step`` + measure columns) and the
    annealed runs' training curves (training_curves table: run_dir, step, metric, value).

    ``measure`` is 'active_units' or 'eps0.01' (both logged in metrics.csv). For every annealed
    run with a no-annealing partner at the same σ² (and likelihood) where annealing lowered
    collapse (at the end of annealing, the last logged step ≤ kl_anneal_steps, collapse is more
    than ``tol`` below the partner's final collapse): collapse rises again by the end, and the
    final collapse is within ``tol`` (absolute fraction) of the partner's. Settings where
    annealing lowered nothing (e.g. σ² above every eigenvalue) have nothing to delay and are
    reported but not judged.
    """
    if measure not in ("active_units", "eps0.01"):
        raise ValueError(f"measure must be 'active_units' or 'eps0.01', got {measure!r}.")
    require_columns(runs, ["run_dir", "sigma2", "kl_anneal_steps"], "runs", "collect_runs()")
    done, reason = _judgeable(runs, min_steps, None)
    if reason:
        return _v("C6", None, reason)
    anneal_steps = pd.to_numeric(done["kl_anneal_steps"], errors="coerce").fillna(0)
    annealed, base = done.loc[anneal_steps > 0], done.loc[anneal_steps <= 0]
    if annealed.empty:
        return _v("C6", None, "no completed run with KL annealing")
    outcomes, parts = [], []
    final_all = collapse_of(done, measure)
    for idx, run in annealed.iterrows():
        partner = base.loc[np.isclose(pd.to_numeric(base["sigma2"]), float(run["sigma2"]))]
        if "likelihood" in done.columns:
            partner = partner.loc[partner["likelihood"] == run["likelihood"]]
        if partner.empty:
            parts.append(f"σ²={fmt_value(run['sigma2'])}: no run without annealing to compare")
            continue
        t_anneal = float(run["kl_anneal_steps"])
        if float(run["step"]) <= t_anneal:
            parts.append(f"σ²={fmt_value(run['sigma2'])}: run ends before annealing does")
            continue
        series = _curve_collapse(
            curves.loc[curves["run_dir"] == run["run_dir"]], measure, float(run["latent_dim"])
        )
        during = series.loc[series.index <= t_anneal]
        if during.empty:
            parts.append(f"σ²={fmt_value(run['sigma2'])}: no metrics logged during annealing")
            continue
        c_during, c_final = float(during.iloc[-1]), float(final_all.loc[idx])
        c_base = float(final_all.loc[partner.index].mean())
        informative = c_during < c_base - tol
        if informative:
            outcomes.append(c_during < c_final and abs(c_final - c_base) <= tol)
        setting = f"{run['likelihood']}, " if "likelihood" in done.columns else ""
        parts.append(
            f"{setting}σ²={fmt_value(run['sigma2'])}: collapse at end of annealing (step "
            f"{int(during.index[-1])}) {_pct(c_during)}, final {_pct(c_final)}, "
            f"without annealing {_pct(c_base)}"
            + ("" if informative else " (annealing lowered nothing here: not judged)")
        )
    holds = None if not outcomes else all(outcomes)
    return _v("C6", holds, f"measure: {MEASURES[measure]}; " + "; ".join(parts) + f"; tol {tol}")


# ---------------------------------------------------------------- C7: σ² rules (beyond the paper)


def _reaches_optimum_by(curve: pd.DataFrame, reach: float) -> float:
    """First logged step where σ² is within a factor ``reach`` of its closed-form optimum
    (metrics ``sigma2`` vs ``sigma2_optimal``), inf if never."""
    s2 = metric_curve(curve, "sigma2").set_index("step")["value"]
    opt = metric_curve(curve, "sigma2_optimal").set_index("step")["value"]
    ratio = (s2 / opt).dropna()
    close = ratio.index[(ratio <= reach) & (ratio >= 1.0 / reach)]
    return float(close.min()) if len(close) else float("inf")


def _units_at(curve: pd.DataFrame, step: float) -> float:
    """Active units at the last logged step ≤ ``step`` (NaN if none)."""
    units = metric_curve(curve, "active_units")
    units = units.loc[units["step"] <= step]
    return float(units["value"].iloc[-1]) if len(units) else float("nan")


def verdict_c7(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    reach: float = 1.5,
    early: float = 0.5,
    remains: float = 0.5,
    min_steps: int = 0,
) -> Verdict:
    """C7 from the runs of the ``sigma2_dynamics`` sweep and their training curves.

    ``runs``: collect_runs rows with ``run_dir``, ``sigma2`` (initial σ²), ``sigma2_rule``,
    ``sigma2_switch_step``, ``status``, ``step``, ``active_units``, ``elbo`` [nats per example].
    ``curves``: their training_curves table (``sigma2``, ``sigma2_optimal``, ``active_units``).

    Per rule, the *gap* is ELBO(smallest initial σ²) − ELBO(largest initial σ²). A rule without a
    switch is *fast* when every run had σ² within a factor ``reach`` of its optimum by ``early`` ×
    its length, else *slow*; a rule whose runs end identical whatever the initial σ² (the closed
    form) cannot test the initial value and is reported only. The slow rule's gap is what needs
    explaining. Holds (local optimum) if every fast rule keeps more than ``remains`` × that gap,
    fails (optimiser speed) if none does; None when they disagree, no rule is fast or slow, or
    the slow rule has no gap. Active units and, for switching rules, the active units at the
    switch and at the end are given in the detail.
    """
    require_columns(
        runs, ["run_dir", "sigma2_rule", "active_units", "elbo"], "runs", "collect_runs() rows"
    )
    done, reason = _judgeable(runs, min_steps, None)
    if reason:
        return _v("C7", None, reason)
    gaps: dict[str, float] = {}
    speed: dict[str, str] = {}
    parts = []
    for rule, grp in done.groupby("sigma2_rule", sort=True):
        init = pd.to_numeric(grp["sigma2"], errors="coerce")
        if init.nunique() < 2:
            parts.append(f"{rule}: one initial σ² only")
            continue
        big, small = grp.loc[init.idxmax()], grp.loc[init.idxmin()]
        curve = {r: curves.loc[curves["run_dir"] == r] for r in grp["run_dir"]}
        elbo = pd.to_numeric(grp["elbo"], errors="coerce")
        switch = pd.to_numeric(grp.get("sigma2_switch_step", pd.Series()), errors="coerce")
        text = (
            f"{rule}: from σ² {fmt_value(big['sigma2'])} AU {float(big['active_units']):g}, ELBO "
            f"{float(big['elbo']):.4g}; from σ² {fmt_value(small['sigma2'])} AU "
            f"{float(small['active_units']):g}, ELBO {float(small['elbo']):.4g}"
        )
        if switch.notna().any():
            at = float(switch.dropna().iloc[0])
            text += (
                f"; from σ² {fmt_value(big['sigma2'])}: AU {_units_at(curve[big['run_dir']], at):g}"
                f" at the switch (step {at:g}), {float(big['active_units']):g} at the end"
            )
        elif np.ptp(elbo.to_numpy(float)) == 0:
            text += " (the initial σ² has no effect: reference only)"
        else:
            by = max(  # the share of training its slowest run needed to reach the optimum
                _reaches_optimum_by(curve[r], reach) / float(n)
                for r, n in grp[["run_dir", "step"]].values
            )
            speed[rule] = "fast" if by <= early else "slow"
            gaps[rule] = float(small["elbo"]) - float(big["elbo"])
            reached = "never" if not np.isfinite(by) else f"by {by:.0%} of training"
            text += f"; σ² within ×{reach:g} of its optimum {reached} ({speed[rule]})"
        parts.append(text)
    steps = pd.to_numeric(done["step"], errors="coerce").max()
    detail = f"after {steps:g} steps; " + "; ".join(parts)
    slow = [gaps[r] for r in gaps if speed[r] == "slow"]
    fast = {r: gaps[r] for r in gaps if speed[r] == "fast"}
    if not slow or not fast:
        return _v("C7", None, "needs a slow and a fast σ² rule; " + detail)
    if max(slow) <= 0:
        return _v("C7", None, "the slow rule shows no ELBO gap to explain; " + detail)
    left = {r: g / max(slow) for r, g in fast.items()}
    detail += (
        "; share of the slow rule's ELBO gap left: "
        + ", ".join(f"{r} {_pct(x)}" for r, x in left.items())
        + f" (local optimum if > {_pct(remains)})"
    )
    stays = [x > remains for x in left.values()]
    if all(stays):
        return _v("C7", True, "answer: local optimum; " + detail)
    if not any(stays):
        return _v("C7", False, "answer: optimiser speed; " + detail)
    return _v("C7", None, "fast rules disagree; " + detail)
