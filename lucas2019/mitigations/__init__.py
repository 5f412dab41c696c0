"""Collapse mitigations (the config group ``mitigation=``): one module each, on one interface.

- ``free_bits`` (Kingma et al. 2016): the KL term of a batch with a floor of λ nats, per latent
  or on the summed KL (:mod:`lucas2019.mitigations.free_bits`).
- ``cyclical_annealing`` (Fu et al. 2019): the KL weight in cycles of ramps
  (:mod:`lucas2019.mitigations.cyclical_annealing`).
- ``aggressive_encoder`` (He et al. 2019): encoder-only steps before each decoder step until
  I(x; z) stops rising (:mod:`lucas2019.mitigations.aggressive_encoder`).

Each is a :class:`Mitigation` (``base.py``: the hooks the training loop calls) with its own typed
config node ``Config``. :data:`MITIGATIONS` is the one list of them; the config schemas, the
validation and the trainer derive from it. docs/mitigations.md gives the formulas and defaults.
"""

from __future__ import annotations

from typing import Any

from lucas2019.mitigations.aggressive_encoder import AggressiveEncoder
from lucas2019.mitigations.base import Mitigation
from lucas2019.mitigations.cyclical_annealing import CyclicalAnnealing
from lucas2019.mitigations.free_bits import FREE_BITS_VARIANTS, FreeBits

#: mitigation name (``mitigation.name``) -> its class
MITIGATIONS: dict[str, type[Mitigation]] = {
    cls.name: cls for cls in (Mitigation, FreeBits, CyclicalAnnealing, AggressiveEncoder)
}

__all__ = ["FREE_BITS_VARIANTS", "MITIGATIONS", "Mitigation", "build_mitigation"]


def build_mitigation(config: Any) -> Mitigation:
    """The mitigation a validated config node describes (its typed ``Config`` instance, or any
    object with its attributes, ``name`` among them)."""
    return MITIGATIONS[config.name](config)
