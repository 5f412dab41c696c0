"""The claims: one module per claim (``c1`` … ``c8``) holding its statement, its verdict
definitions and their computation, on a shared core.

- :mod:`~paper_figures.claims.schema`: the types (claim, definition, criterion, parameter,
  convergence rule); :mod:`~paper_figures.claims.measures`: the measures and the run-table
  columns they read; :mod:`~paper_figures.claims.choices`: choices several definitions share.
- :mod:`~paper_figures.claims.judging`: seeds, intervals over them, outcome;
  :mod:`~paper_figures.claims.convergence`: when a run counts as converged;
  :mod:`~paper_figures.claims.compute`: what every computation shares;
  :mod:`~paper_figures.claims.evidence`: what a computation reads.
- :mod:`~paper_figures.claims.table`: the claims collected from the claim modules, their
  fingerprint and their markdown (``python -m paper_figures.claims docs/claims.md``).
"""
