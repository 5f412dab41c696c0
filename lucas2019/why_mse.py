"""``python -m lucas2019.why_mse``: what does my MSE loss do to my latents?

A loss written as ``MSE + β·KL`` is the negative ELBO of a Gaussian decoder whose variance σ² is
fixed by the loss's scaling (see :func:`lucas2019.implied_sigma2`). The linear theory then says
which latents collapse: latent i stays alive only if the data's i-th eigenvalue λ_i exceeds σ².

    python -m lucas2019.why_mse --reduction mean --dataset mnist --root /data/mnist --latent-dim 200
    python -m lucas2019.why_mse --reduction sum --beta 4 --pixel-scale 255 --dataset digits
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import linear_vae
from lucas2019 import data
from lucas2019.likelihoods import implied_sigma2


@dataclass(frozen=True)
class CollapsePrediction:
    """The linear theory's answer for one loss on one dataset (σ² in data units², [0, 1] pixels)."""

    sigma2: float  # implied by the loss
    latent_dim: int  # k
    n_collapsed: int  # #{i ≤ k : λ_i ≤ σ²}
    sigma2_learned: float  # the pPCA maximum-likelihood σ² at this k
    n_collapsed_learned: int  # collapsed latents with the learned σ² (0 below the data's rank)


def predict(spectrum: linear_vae.Spectrum, sigma2: float, latent_dim: int) -> CollapsePrediction:
    """Collapsed latents of k = ``latent_dim`` at the fixed ``sigma2`` and at the learned σ²."""
    k = min(int(latent_dim), spectrum.dim)
    fixed = linear_vae.ppca_mle(spectrum, k, sigma2=sigma2)
    # Latents beyond the largest k with a positive learned σ² have no variance left: collapsed.
    k_learnable = linear_vae.learnable_n_latent(spectrum, k)
    learned = linear_vae.ppca_mle(spectrum, k_learnable)
    n_collapsed_learned = learned.n_collapsed + (k - k_learnable)
    return CollapsePrediction(
        float(sigma2), k, int(fixed.n_collapsed), float(learned.sigma2), int(n_collapsed_learned)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the σ² a loss implies and, for a dataset, how many latents it collapses."""
    parser = argparse.ArgumentParser(
        prog="lucas2019-why-mse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--reduction",
        choices=("sum", "mean"),
        default="mean",
        help="MSE summed or averaged over the data dimensions (default mean)",
    )
    parser.add_argument("--beta", type=float, default=1.0, help="weight on the KL term")
    parser.add_argument(
        "--pixel-scale",
        type=float,
        default=1.0,
        help="factor the data was multiplied by before the MSE (e.g. 255)",
    )
    parser.add_argument("--dataset", choices=data.DATASETS, help="dataset to predict collapse on")
    parser.add_argument("--root", help="dataset folder (MNIST, CelebA)")
    parser.add_argument("--latent-dim", type=int, default=200, help="latent size k (default 200)")
    parser.add_argument(
        "--n-train", type=int, default=None, help="training examples (default: all available)"
    )
    args = parser.parse_args(argv)
    if args.latent_dim < 1:
        parser.error(f"--latent-dim must be a positive integer; got {args.latent_dim}")
    dataset = None
    if args.dataset is not None:
        try:
            dataset = data.load(args.dataset, root=args.root)
        except (ValueError, OSError) as error:
            parser.error(str(error))
    try:
        sigma2 = implied_sigma2(
            "mse",
            args.reduction,
            args.beta,
            data_dim=None if dataset is None else dataset.dim,
            pixel_scale=args.pixel_scale,
        )
    except ValueError as error:
        parser.error(str(error) + " (pass --dataset so the data dimension is known)")
    loss = f"MSE {'summed' if args.reduction == 'sum' else 'averaged'} over dimensions"
    loss += f" + {args.beta:g}·KL" + (
        f", data × {args.pixel_scale:g}" if args.pixel_scale != 1 else ""
    )
    print(f"loss: {loss}")
    print(f"implied Gaussian decoder variance: σ² = {sigma2:.6g} (data units², [0, 1] pixels)")
    if dataset is None:
        return 0
    x_train, _ = data.training_arrays(dataset, n_train=args.n_train, n_test=0)
    spectrum = linear_vae.Spectrum.from_data(x_train.astype(np.float64))
    answer = predict(spectrum, sigma2, args.latent_dim)
    lam = spectrum.eigenvalues
    print(
        f"dataset: {dataset.name}, n = {spectrum.n_samples}, d = {spectrum.dim}, "
        f"largest eigenvalue λ₁ = {lam[0]:.4g}, data rank {spectrum.rank}"
    )
    print(f"linear theory, k = {answer.latent_dim} latents:")
    print(
        f"  with σ² = {sigma2:.4g}: {answer.n_collapsed} of {answer.latent_dim} collapse "
        f"(every latent whose eigenvalue is ≤ σ²)"
    )
    print(
        f"  with σ² learned (MLE {answer.sigma2_learned:.4g}): {answer.n_collapsed_learned} of "
        f"{answer.latent_dim} collapse"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
