"""``python -m lucas2019.why_mse``: what does my VAE loss do to my latents?

A loss written as "reconstruction + β·KL" is a positive multiple of a negative ELBO. With an MSE
it is the ELBO of a Gaussian decoder whose variance σ² the loss's scaling fixes (see
lucas2019.loss_recipes). The linear theory then says which latents collapse: latent i stays alive
only if the data's i-th covariance eigenvalue λ_i exceeds σ².

Describe the loss with a preset (listed below) or with the options; options given with a preset
replace the preset's. Give the data with --dataset or --npy for the live-latent count.

    python -m lucas2019.why_mse --reduction mean --dataset mnist --root /data/mnist --latent-dim 200
    python -m lucas2019.why_mse --preset mean-mse-kld-weight --data-dim 12288
    python -m lucas2019.why_mse --preset sum-mse --beta 4 --npy my_data.npy --latent-dim 32
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import fields, replace

import numpy as np

import linear_vae
from lucas2019 import data
from lucas2019.collapse import predict
from lucas2019.likelihood_names import SIGMA2_MODES
from lucas2019.loss_recipes import LOSSES, PRESETS, REDUCTIONS, LossRecipe

DEFAULT_PRESET = "mean-mse"
_LIKELIHOOD_BY_SIGMA2_MODE = {mode: name for name, mode in SIGMA2_MODES.items()}
FIX = (
    f"fix: learn σ²: likelihood={_LIKELIHOOD_BY_SIGMA2_MODE['learned']}, or its closed form "
    f"likelihood={_LIKELIHOOD_BY_SIGMA2_MODE['optimal']}"
)
# the flag that supplies each dimension LossRecipe.implied may ask for
_DIM_FLAGS = {
    "data_dim": ("d", "--dataset, --npy or --data-dim"),
    "latent_dim": ("k", "--latent-dim"),
    "batch_size": ("n", "--batch-size"),
}


def preset_list() -> str:
    """Every preset's code and formula, for a command's help text."""
    lines = ["presets (loss as written; kl is -0.5 * (1 + logvar - mu**2 - logvar.exp())):"]
    for name, preset in PRESETS.items():
        lines.append(f"  {name}: {preset.code}")
        dims = ", ".join(f"{_DIM_FLAGS[key][0]} = {val}" for key, val in preset.example.items())
        example = f"; {preset.example_value():.4g} at {dims}" if dims else ""
        lines.append(f"      {preset.formula}{example}")
    return "\n".join(lines)


def add_loss_options(parser: argparse.ArgumentParser, default_preset: str | None) -> None:
    """The options that describe a loss in code: ``--preset`` (alias ``--loss-recipe``) and one
    flag per :class:`LossRecipe` field, each replacing the preset's value."""
    loss = parser.add_argument_group("the loss (each option replaces the preset's)")
    loss.add_argument(
        "--preset",
        "--loss-recipe",
        choices=tuple(PRESETS),
        default=default_preset,
        help="a common loss as written (listed below); default %(default)s",
    )
    loss.add_argument("--loss", choices=LOSSES, help="squared error or binary cross-entropy")
    reductions = {
        "--reduction": "reconstruction over the data dimensions",
        "--batch-reduction": "reconstruction over the batch",
        "--kl-reduction": "KL over the latents",
        "--kl-batch-reduction": "KL over the batch",
    }
    for flag, what in reductions.items():
        loss.add_argument(flag, choices=REDUCTIONS, help=f"{what}: summed or averaged")
    loss.add_argument("--beta", type=float, help="weight on the KL term (kld_weight)")
    loss.add_argument(
        "--recon-weight", type=float, help="factor on the reconstruction (0.5 for ½·squared error)"
    )
    loss.add_argument(
        "--pixel-scale",
        type=float,
        help="factor the data were multiplied by before the loss (e.g. 255)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lucas2019-why-mse",
        description=__doc__,
        epilog=preset_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_loss_options(parser, DEFAULT_PRESET)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=data.DATASETS, help="dataset to predict collapse on")
    source.add_argument(
        "--npy", help="your data: an (n, d) .npy array, in its units before --pixel-scale"
    )
    parser.add_argument("--root", help="dataset folder (MNIST, CelebA)")
    parser.add_argument("--data-dim", type=int, help="d, when no data are given")
    parser.add_argument("--latent-dim", type=int, default=200, help="latent size k (default 200)")
    parser.add_argument("--batch-size", type=int, help="n, where the batch reductions differ")
    parser.add_argument(
        "--n-train", type=int, default=None, help="training examples (default: all available)"
    )
    return parser


def loss_recipe_from_args(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> LossRecipe | None:
    """The recipe of :func:`add_loss_options`' flags: the preset with the options given replacing
    its values (:class:`LossRecipe`'s defaults without a preset); None when no flag was given.
    An invalid combination exits through ``parser.error`` (status 2)."""
    # each loss option's flag has the field's name as its dest
    options = [option.name for option in fields(LossRecipe)]
    given = {key: getattr(args, key) for key in options if getattr(args, key) is not None}
    if args.preset is None and not given:
        return None
    base = LossRecipe() if args.preset is None else PRESETS[args.preset].recipe
    try:
        return replace(base, **given)
    except ValueError as error:
        parser.error(str(error))


def _training_data(parser: argparse.ArgumentParser, args: argparse.Namespace) -> np.ndarray | None:
    """The (n, d) array the spectrum comes from, or None when no data were given."""
    if args.npy is not None:
        try:
            x = np.load(args.npy)
        except (OSError, ValueError) as error:
            parser.error(f"--npy {args.npy}: {error}")
        if x.ndim != 2:
            parser.error(f"--npy must hold an (n, d) array; got shape {x.shape} from {args.npy}.")
        return x[: args.n_train]
    if args.dataset is None:
        return None
    try:
        dataset = data.load(args.dataset, root=args.root)
    except (ValueError, OSError) as error:
        parser.error(str(error))
    x_train, _ = data.training_arrays(dataset, n_train=args.n_train, n_test=0)
    return x_train


def main(argv: Sequence[str] | None = None) -> int:
    """Print what a loss implies and, given data, how many latents it leaves alive."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.latent_dim < 1:
        parser.error(f"--latent-dim must be a positive integer; got {args.latent_dim}")
    recipe = loss_recipe_from_args(parser, args)
    x_train = _training_data(parser, args)
    data_dim = args.data_dim if x_train is None else x_train.shape[1]
    if x_train is not None and args.data_dim not in (None, data_dim):
        parser.error(f"--data-dim {args.data_dim} disagrees with the data's d = {data_dim}")
    try:
        implied = recipe.implied(data_dim, args.latent_dim, args.batch_size)
    except ValueError as error:
        hints = [flags for key, (_, flags) in _DIM_FLAGS.items() if key in str(error)]
        parser.error(str(error) + "".join(f" Pass {flags}." for flags in hints))
    print(f"loss: {recipe.formula()}")
    if implied.sigma2 is None:
        print(f"implied: a Bernoulli decoder with KL weight β = {implied.beta:.6g} (1 is the ELBO)")
        print("no σ² to learn (likelihood=bernoulli); the linear theory needs a Gaussian decoder")
        return 0
    sigma2 = implied.sigma2
    units = "data units², [0, 1] pixels" if args.npy is None else "units² of the --npy data"
    print(f"implied Gaussian decoder variance: σ² = {sigma2:.6g} ({units})")
    print("  the loss fixes only σ²·β: this is σ² as an ELBO (β = 1), or β at σ² = 1")
    if x_train is not None:
        spectrum = linear_vae.Spectrum.from_data(x_train.astype(np.float64))
        answer = predict(spectrum, sigma2, args.latent_dim)
        lam = spectrum.eigenvalues
        name = args.dataset or args.npy
        print(
            f"data: {name}, n = {spectrum.n_samples}, d = {spectrum.dim}, "
            f"largest eigenvalue λ₁ = {lam[0]:.4g}, data rank {spectrum.rank}"
        )
        print(f"linear theory, k = {answer.latent_dim} latents:")
        print(
            f"  with σ² = {sigma2:.4g}: {answer.n_live} live, {answer.n_collapsed} of "
            f"{answer.latent_dim} collapse (every latent whose eigenvalue is ≤ σ²)"
        )
        print(
            f"  with σ² learned (MLE {answer.sigma2_learned:.4g}): {answer.n_collapsed_learned} of "
            f"{answer.latent_dim} collapse"
        )
    print(FIX)
    return 0


if __name__ == "__main__":
    sys.exit(main())
