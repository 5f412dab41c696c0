"""Demo: how the decoder variance sigma2 decides how many linear-VAE latents collapse.

Usage: ``linear-vae-demo`` (scikit-learn's 8x8 digits, pixels / 16) or
``linear-vae-demo --npy data.npy --k 50 --sigma2 0.01 0.1 1``; also ``python -m linear_vae.demo``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from .collapse import sweep
from .spectrum import Spectrum


def _load(npy: str | None) -> tuple[str, np.ndarray]:
    if npy is None:
        from sklearn.datasets import load_digits  # demo-only, imported lazily

        return "sklearn digits (pixels / 16)", load_digits().data / 16.0
    X = np.load(npy)
    if X.ndim != 2:
        raise ValueError(f"--npy must hold an (n, d) array; got shape {X.shape} from {npy}.")
    return npy, X


def main(argv: Sequence[str] | None = None) -> int:
    """Print the eigen-spectrum summary and the table sigma2 -> collapsed latents of k."""
    parser = argparse.ArgumentParser(prog="linear-vae-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--npy", help="path to an (n, d) .npy array (default: sklearn digits)")
    parser.add_argument("--k", type=int, default=None, help="latent size (default min(d, 200))")
    parser.add_argument(
        "--sigma2",
        type=float,
        nargs="+",
        default=None,
        help="sigma2 values (default: 13 log-spaced values over the spectrum)",
    )
    parser.add_argument("--ddof", type=int, default=0, help="covariance normalisation n - ddof")
    args = parser.parse_args(argv)

    name, X = _load(args.npy)
    spec = Spectrum.from_data(X, ddof=args.ddof)
    n, d = X.shape
    k = min(d, 200) if args.k is None else args.k
    lam = spec.eigenvalues
    print(f"data: {name}  n={n}  d={d}  ddof={args.ddof}")
    print(
        f"eigenvalues: max {lam[0]:.4g}  median {np.median(lam):.4g}  min {lam[-1]:.4g}  "
        f"total variance {lam.sum():.4g}  rank {spec.rank}"
    )
    for q in (0.5, 0.9, 0.99):
        m = int(np.searchsorted(np.cumsum(lam) / lam.sum(), q) + 1)
        print(f"  {q:.0%} of the variance in the top {m} eigenvalues")

    marks = {0.5: "MSE summed (sigma2 = 1/2)", d / 2: f"MSE averaged (sigma2 = d/2 = {d / 2:g})"}
    if args.sigma2 is None:
        positive = lam[lam > 0]
        grid = np.geomspace(positive[-1], positive[0], 13).tolist()
    else:
        grid = list(args.sigma2)
    values = sorted(set(grid) | set(marks))
    table = sweep(spec, [*values, "learned"] if k < d else values, [k])
    print(f"\nlatent size k={k}: a latent collapses when its eigenvalue <= sigma2")
    print(f"{'sigma2':>12} {'live':>5} {'collapsed':>9}  {'log p(x)/example':>17}  note")
    rows = zip(
        *(
            table[c]
            for c in ("sigma2", "sigma2_learned", "n_live", "n_collapsed", "log_likelihood")
        ),
        strict=True,
    )
    for sigma2, learned, live, collapsed, log_likelihood in rows:
        note = "learned sigma2 (MLE)" if learned else marks.get(sigma2, "")
        print(f"{sigma2:12.5g} {live:5d} {collapsed:6d}/{k:<3d} {log_likelihood:17.3f}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
