"""What a VAE loss written in code implies: the Gaussian decoder's σ² or the Bernoulli KL weight β.

Torch-free. A loss in code has the form

    loss = recon_weight · R_batch(R_dims(ℓ(s·x̂, s·x))) + beta · K_batch(K_latents(KL))

- ℓ per data dimension: the squared error (``loss="mse"``) or the binary cross-entropy
  (``loss="bce"``);
- R_dims, R_batch: the reconstruction term summed or averaged over the d data dimensions and over
  the n examples of the batch (``reduction``, ``batch_reduction``);
- K_latents, K_batch: the KL summed or averaged over the k latents and over the batch
  (``kl_reduction``, ``kl_batch_reduction``);
- ``beta``: the KL weight (kld_weight, β); ``recon_weight``: a factor on the reconstruction term
  (0.5 for ½·||x − x̂||²);
- s = ``pixel_scale``: the data were multiplied by s before the loss (255 for [0, 255] pixels, 2
  for [0, 1] data mapped to [−1, 1]; a shift such as 2x − 1 changes nothing).

Collecting the reductions, loss = a·Σ_i SE_i + b·Σ_i KL_i, with SE_i = ||x_i − x̂_i||² in the
units of the data before the scale s and KL_i summed over the latents:

    a = recon_weight · s² / (d if averaged over dims) / (n if averaged over the batch),
    b = beta / (k if averaged over latents) / (n if averaged over the batch).

The negative ELBO of the batch, with decoder N(x̂, σ²I) and KL weight β, is
Σ_i SE_i/(2σ²) + β·Σ_i KL_i + (n·d/2)·log 2πσ². The loss is m times it plus a constant exactly when
m/(2σ²) = a and m·β = b, so the loss fixes only the product σ²·β = b/(2a) (the constant holds σ²
but does not move with the parameters). Read as an ELBO (β = 1), the product is the decoder
variance σ²; read with a unit-variance decoder (σ² = 1), it is β. Either reading has the same
optimum: the linear theory's live latents, #{λ_i > σ²·β}, depend on the product alone.

BCE is a Bernoulli decoder: −log p(x | x̂) is the BCE summed over the dimensions, so m = a and the
KL weight β = b/a is fixed (β = 1 is the ELBO); there is no σ².
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

LOSSES: tuple[str, ...] = ("mse", "bce")
REDUCTIONS: tuple[str, ...] = ("sum", "mean")


def _check_positive(name: str, value: object, example: str) -> None:
    if not (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        raise ValueError(f"{name} must be a finite float > 0 ({example}); got {value!r}.")


def _dim(name: str, value: object, needed_for: str) -> int:
    """A dimension the implied value depends on: a positive int, else a one-line error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{needed_for} needs {name} (a positive int); got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class ImpliedObjective:
    """The objective a loss is a positive multiple of (plus a constant): −ELBO with these settings.

    Attributes:
        likelihood: "gaussian" (mse) or "bernoulli" (bce).
        sigma2: the decoder variance at β = 1, which is the identifiable product σ²·β (units² of
            the data before pixel_scale); None for Bernoulli.
        beta: the KL weight: 1 for Gaussian (the reading that puts the product into σ²), b/a for
            Bernoulli, where it is identifiable.
    """

    likelihood: str
    sigma2: float | None
    beta: float


@dataclass(frozen=True)
class LossRecipe:
    """How a VAE loss is written in code; see the module docstring for each field and the algebra.

    Attributes:
        loss: "mse" (squared error) or "bce" (binary cross-entropy).
        reduction: reconstruction over the data dimensions, "sum" or "mean".
        batch_reduction: reconstruction over the batch, "sum" or "mean".
        kl_reduction: KL over the latents, "sum" or "mean".
        kl_batch_reduction: KL over the batch, "sum" or "mean".
        beta: the KL weight (kld_weight), > 0.
        recon_weight: factor on the reconstruction term (0.5 for ½·squared error), > 0.
        pixel_scale: factor the data were multiplied by before the loss (mse only), > 0.
    """

    loss: str = "mse"
    reduction: str = "sum"
    batch_reduction: str = "mean"
    kl_reduction: str = "sum"
    kl_batch_reduction: str = "mean"
    beta: float = 1.0
    recon_weight: float = 1.0
    pixel_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(
                f"loss must be one of {LOSSES} (squared error or binary cross-entropy); "
                f"got {self.loss!r}."
            )
        for name in (option.name for option in fields(self) if option.name.endswith("reduction")):
            if getattr(self, name) not in REDUCTIONS:
                raise ValueError(f"{name} must be 'sum' or 'mean'; got {getattr(self, name)!r}.")
        _check_positive("beta", self.beta, "the KL weight")
        _check_positive("recon_weight", self.recon_weight, "0.5 for ½·squared error")
        _check_positive("pixel_scale", self.pixel_scale, "e.g. 255")
        if self.loss == "bce" and self.pixel_scale != 1:
            raise ValueError(
                f"BCE needs targets in [0, 1], so data cannot be scaled before it; got "
                f"pixel_scale={self.pixel_scale!r}. Use pixel_scale=1 with loss='bce'."
            )

    def weight_ratio(
        self,
        data_dim: int | None = None,
        latent_dim: int | None = None,
        batch_size: int | None = None,
    ) -> float:
        """b/a for loss = a·Σ_i SE_i (or BCE_i) + b·Σ_i KL_i over the batch (module docstring).

        Args:
            data_dim: d, needed when the reconstruction is averaged over dimensions.
            latent_dim: k, needed when the KL is averaged over latents.
            batch_size: n, needed when the reconstruction and the KL are reduced differently over
                the batch (else n cancels).
        """
        ratio = self.beta / (self.recon_weight * self.pixel_scale**2)
        if self.reduction == "mean":
            ratio *= _dim("data_dim", data_dim, "a reconstruction averaged over dimensions")
        if self.kl_reduction == "mean":
            ratio /= _dim("latent_dim", latent_dim, "a KL averaged over latents")
        if self.batch_reduction != self.kl_batch_reduction:
            n = _dim("batch_size", batch_size, "reducing the two terms differently over the batch")
            ratio *= n if self.batch_reduction == "mean" else 1 / n
        return ratio

    def implied(
        self,
        data_dim: int | None = None,
        latent_dim: int | None = None,
        batch_size: int | None = None,
    ) -> ImpliedObjective:
        """The −ELBO this loss is a positive multiple of; dimensions as in :meth:`weight_ratio`."""
        ratio = self.weight_ratio(data_dim, latent_dim, batch_size)
        if self.loss == "bce":
            return ImpliedObjective("bernoulli", None, ratio)
        return ImpliedObjective("gaussian", ratio / 2.0, 1.0)

    def formula(self) -> str:
        """The loss as written, e.g. ``mean_batch(mean_dims((x − x̂)²)) + 1·mean_batch(...)``.

        Reductions read inside out: ``mean_batch(sum_dims(...))`` sums over the dimensions of each
        example, then averages over the batch.
        """
        s = self.pixel_scale
        term = "(x − x̂)²" if s == 1 else f"({s:g}·x − {s:g}·x̂)²"
        if self.loss == "bce":
            term = "BCE(x̂, x)"
        recon = f"{self.batch_reduction}_batch({self.reduction}_dims({term}))"
        if self.recon_weight != 1:
            recon = f"{self.recon_weight:g}·{recon}"
        kl = f"{self.kl_batch_reduction}_batch({self.kl_reduction}_latents(KL))"
        return f"{recon} + {self.beta:g}·{kl}"


def implied_sigma2(
    loss: str = "mse",
    reduction: str = "sum",
    beta: float = 1.0,
    data_dim: int | None = None,
    pixel_scale: float = 1.0,
    *,
    batch_reduction: str = "mean",
    kl_reduction: str = "sum",
    kl_batch_reduction: str = "mean",
    recon_weight: float = 1.0,
    latent_dim: int | None = None,
    batch_size: int | None = None,
) -> float:
    """The Gaussian σ² (units² of the data before pixel_scale) that a "reconstruction + β·KL" loss
    implies, read at β = 1; only the product σ²·β is fixed by the loss (module docstring).

    The options are the fields of :class:`LossRecipe`; d = data_dim, k = latent_dim and
    n = batch_size are needed only where the loss averages over them. For example
    ``MSE_sum + β·KL`` gives σ² = β/2, ``MSE_mean + β·KL`` (mean over d dims) σ² = β·d/2, and data
    multiplied by s before the MSE divide σ² by s².

    Raises:
        ValueError: for loss="bce" (a Bernoulli decoder has no σ²; use
            ``LossRecipe(loss="bce").implied(...).beta``), or options out of range.
    """
    recipe = LossRecipe(
        loss,
        reduction,
        batch_reduction,
        kl_reduction,
        kl_batch_reduction,
        beta,
        recon_weight,
        pixel_scale,
    )
    if recipe.loss == "bce":
        raise ValueError(
            "loss='bce' is a Bernoulli likelihood and implies no σ²; pass loss='mse', or read "
            "its KL weight from LossRecipe(loss='bce', ...).implied(...).beta."
        )
    sigma2 = recipe.implied(data_dim, latent_dim, batch_size).sigma2
    assert sigma2 is not None  # a Gaussian decoder always has one
    return sigma2


@dataclass(frozen=True)
class Preset:
    """A widespread way of writing the loss.

    Attributes:
        code: how it reads in PyTorch, with ``kl`` the (n, k) tensor
            ``-0.5 * (1 + logvar - mu**2 - logvar.exp())``.
        recipe: the options it sets.
        formula: what it implies, in terms of d (data dims), k (latents), n (batch size).
        example: the dimensions of the worked example shown with it (LossRecipe.implied's
            keyword arguments).
    """

    code: str
    recipe: LossRecipe
    formula: str
    example: dict[str, int]

    def example_value(self) -> float:
        """The implied σ² (Bernoulli: β) at the example's dimensions."""
        implied = self.recipe.implied(**self.example)
        return implied.beta if implied.sigma2 is None else implied.sigma2


PRESETS: dict[str, Preset] = {
    "mean-mse": Preset(
        "F.mse_loss(x_hat, x) + torch.mean(torch.sum(kl, dim=1))",
        LossRecipe(reduction="mean"),
        "σ² = d/2",
        {"data_dim": 28 * 28},
    ),
    "mean-mse-kld-weight": Preset(
        "F.mse_loss(x_hat, x) + 2.5e-4 * torch.mean(torch.sum(kl, dim=1))",
        LossRecipe(reduction="mean", beta=2.5e-4),
        "σ² = d·w/2 (w = 2.5e-4, the KL weight)",
        {"data_dim": 64 * 64 * 3},
    ),
    "mean-mse-mean-kl": Preset(
        "F.mse_loss(x_hat, x) + kl.mean()",
        LossRecipe(reduction="mean", kl_reduction="mean"),
        "σ² = d/(2k)",
        {"data_dim": 28 * 28, "latent_dim": 20},
    ),
    "mean-mse-sum-kl": Preset(
        "F.mse_loss(x_hat, x) + kl.sum()",
        LossRecipe(reduction="mean", kl_batch_reduction="sum"),
        "σ² = n·d/2",
        {"data_dim": 28 * 28, "batch_size": 128},
    ),
    "sum-mse": Preset(
        "F.mse_loss(x_hat, x, reduction='sum') + kl.sum()",
        LossRecipe(batch_reduction="sum", kl_batch_reduction="sum"),
        "σ² = 1/2",
        {},
    ),
    "half-sum-se": Preset(
        "0.5 * ((x_hat - x) ** 2).sum() + kl.sum()",
        LossRecipe(batch_reduction="sum", kl_batch_reduction="sum", recon_weight=0.5),
        "σ² = 1",
        {},
    ),
    "sum-mse-255": Preset(
        "F.mse_loss(255 * x_hat, 255 * x, reduction='sum') + kl.sum()",
        LossRecipe(batch_reduction="sum", kl_batch_reduction="sum", pixel_scale=255.0),
        "σ² = 1/(2·255²) in [0, 1] units (1/2 in [0, 255] units)",
        {},
    ),
    "bce-sum": Preset(
        "F.binary_cross_entropy(x_hat, x, reduction='sum') + kl.sum()",
        LossRecipe(loss="bce", batch_reduction="sum", kl_batch_reduction="sum"),
        "Bernoulli decoder, β = 1 (the ELBO), no σ²",
        {},
    ),
}
