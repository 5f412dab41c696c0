"""Report what a dataset looks like after preprocessing, before a long sweep.

    python -m lucas2019.data.info mnist --root /path/to/mnist --preprocess scale01 --subset 1000

Prints n, d, value range, mean, the top eigenvalues of the (ddof=0) covariance of the first split
present (train, else test), and for a grid of sigma^2 the number of eigenvalues above it, which is
the number of latents the linear theory lets live at that fixed sigma^2.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Sequence

import numpy as np

import linear_vae
from lucas2019.conf_files import paper_sigma2_grid
from lucas2019.data import DATASETS, PREPROCESSINGS, load

SIGMA2_GRID = tuple(paper_sigma2_grid())  # the paper's grid, as the analytic tables


def summarize(x: np.ndarray, top: int = 10) -> dict:
    """n, d, min, max, mean, std, the top covariance (ddof=0) eigenvalues, their sum and, for each
    sigma^2 of SIGMA2_GRID, the linear theory's live latents #{eigenvalue > sigma^2}."""
    ev = linear_vae.covariance_eigenvalues(x)
    return {
        "n": int(x.shape[0]),
        "d": int(x.shape[1]),
        "min": float(x.min()),
        "max": float(x.max()),
        "mean": float(x.mean()),
        "std": float(x.std()),
        "top_eigenvalues": [float(v) for v in ev[:top]],
        "trace": float(ev.sum()),
        "n_eigenvalues_above_sigma2": {str(s): linear_vae.n_live(ev, s) for s in SIGMA2_GRID},
    }


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--option {text!r}: expected KEY=VALUE, e.g. dim=20")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point ``lucas2019-dataset-info``; returns the exit status (0 on success)."""
    parser = argparse.ArgumentParser(
        prog="lucas2019-dataset-info", description=__doc__.split("\n")[0]
    )
    parser.add_argument("name", choices=DATASETS)
    parser.add_argument("--root", default=None, help="folder with the data files")
    parser.add_argument("--preprocess", default=None, choices=PREPROCESSINGS)
    parser.add_argument("--subset", type=int, default=None, help="n examples per split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--top", type=int, default=10, help="how many eigenvalues to print")
    parser.add_argument(
        "--option", type=_option, action="append", default=[], help="dataset option KEY=VALUE"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    try:
        ds = load(
            args.name,
            root=args.root,
            download=args.download,
            preprocess=args.preprocess,
            subset=args.subset,
            seed=args.seed,
            **dict(args.option),
        )
    except (ValueError, OSError) as err:  # FileNotFoundError, DownloadError are OSErrors
        print(f"lucas2019-dataset-info: error: {err}", file=sys.stderr)
        return 2
    split = "train" if ds.train is not None else "test"
    x = ds.train if ds.train is not None else ds.test
    report = {
        "dataset": ds.name,
        "preprocess": ds.preprocess,
        "image_shape": list(ds.image_shape),
        "n_train": ds.n_train,
        "n_test": ds.n_test,
        "source": ds.source,
        "split_summarized": split,
        **summarize(x, args.top),
    }
    if ds.true_eigenvalues is not None:
        report["true_eigenvalues"] = [float(v) for v in ds.true_eigenvalues[: args.top]]
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"dataset     {ds.name}  (source: {ds.source})")
    print(f"preprocess  {ds.preprocess}")
    print(f"image_shape {tuple(ds.image_shape)}  d={report['d']}")
    print(f"n_train     {ds.n_train}   n_test {ds.n_test}   (summarizing {split})")
    print(
        f"values      min {report['min']:.6g}  max {report['max']:.6g}  "
        f"mean {report['mean']:.6g}  std {report['std']:.6g}"
    )
    print(f"covariance  trace {report['trace']:.6g}; top {args.top} eigenvalues:")
    print("            " + " ".join(f"{v:.5g}" for v in report["top_eigenvalues"]))
    if "true_eigenvalues" in report:
        print("true        " + " ".join(f"{v:.5g}" for v in report["true_eigenvalues"]))
    print("sigma2 -> #eigenvalues above it (latents the linear VAE keeps alive):")
    print(
        "            "
        + "  ".join(f"{s}:{c}" for s, c in report["n_eigenvalues_above_sigma2"].items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
