"""``lucas2019-diagnose``: the collapse measures of a VAE trained anywhere, and the linear
theory's prediction, from its saved encoder outputs.

It prints :func:`lucas2019.collapse.collapse_report` of the Gaussian posteriors
q(z | x) = N(mu, diag exp(logvar)) saved as arrays mu and logvar (n, k), with the data x and the
reconstructions x_hat (n, d) when saved too: active units, (ε, δ)-collapse, I(x; z) and the
per-latent KL; given data and a σ² (or a loss that implies one) also the live latents the linear
theory predicts::

    lucas2019-diagnose --npz outputs.npz                      # arrays mu, logvar [, x, x_hat]
    lucas2019-diagnose --npz outputs.npz --sigma2 0.5         # the prediction from the npz's x
    lucas2019-diagnose --npz outputs.npz --data train.npy --preset mean-mse

docs/diagnose.md walks through an example and says what each number means.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from lucas2019.collapse import collapse_report
from lucas2019.why_mse import add_loss_options, loss_recipe_from_args, preset_list

#: the arrays the command reads from an .npz file; the first two are required
NPZ_ARRAYS = ("mu", "logvar", "x", "x_hat")


class _OneLineParser(argparse.ArgumentParser):
    """Errors as one line (no usage block before it), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="lucas2019-diagnose",
        description=__doc__,
        epilog=preset_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--npz",
        required=True,
        help="encoder outputs: an .npz with arrays mu and logvar (n, k), optionally x and x_hat "
        "(n, d)",
    )
    parser.add_argument(
        "--data",
        help="training data for the prediction: an (n, d) .npy, or an .npz with an array x "
        "(default: the npz's x)",
    )
    parser.add_argument("--sigma2", type=float, help="decoder variance σ² to predict collapse at")
    add_loss_options(parser, default_preset=None)
    parser.add_argument(
        "--batch-size", type=int, help="n, where the loss's batch reductions differ"
    )
    parser.add_argument("--eps", type=float, default=0.01, help="ε of (ε, δ)-collapse, nats")
    parser.add_argument("--delta", type=float, default=0.01, help="δ of (ε, δ)-collapse")
    parser.add_argument("--mi-samples", type=int, default=1, help="z draws per example for MI")
    parser.add_argument("--seed", type=int, default=0, help="seed of the MI draws")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _read_arrays(parser: argparse.ArgumentParser, path: str, flag: str) -> dict[str, np.ndarray]:
    """Every array of an .npz (or the single array of an .npy, named x), or exit with one line."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):  # an .npy holds one array
            return {"x": loaded}
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError, EOFError) as error:
        parser.error(f"{flag} {path}: cannot read it as a NumPy .npz or .npy file ({error}).")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the collapse report of saved encoder outputs."""
    parser = _parser()
    args = parser.parse_args(argv)
    recipe = loss_recipe_from_args(parser, args)
    if args.sigma2 is not None and recipe is not None:
        parser.error("give --sigma2 or a loss (--preset and its options), not both.")
    arrays = _read_arrays(parser, args.npz, "--npz")
    missing = [name for name in NPZ_ARRAYS[:2] if name not in arrays]
    if missing:
        parser.error(
            f"--npz {args.npz} has no array {' or '.join(missing)} (it holds: "
            f"{', '.join(sorted(arrays)) or 'nothing'}); save it with "
            "np.savez(FILE, mu=mu, logvar=logvar[, x=x, x_hat=x_hat])."
        )
    data = None
    if args.data is not None:
        data_arrays = _read_arrays(parser, args.data, "--data")
        if "x" not in data_arrays:
            parser.error(
                f"--data {args.data} holds no array x (it holds: {', '.join(sorted(data_arrays))})"
                "; give an (n, d) .npy or an .npz with x."
            )
        data = data_arrays["x"]
    inputs = {name: arrays.get(name) for name in NPZ_ARRAYS}
    try:
        report = collapse_report(
            **inputs,
            sigma2=args.sigma2,
            loss_recipe=recipe,
            batch_size=args.batch_size,
            data=data,
            eps=args.eps,
            delta=args.delta,
            mi_samples=args.mi_samples,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(f"{Path(args.npz).name}: {error}")
    print(json.dumps(report.to_dict(), indent=1) if args.json else report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
