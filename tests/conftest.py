"""Shared fixtures: compose the package's Hydra configs in-process."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from omegaconf import DictConfig

from lucas2019.config import compose_config

# The tests' tensors are tiny: one thread is fastest and immune to a busy second core.
torch.set_num_threads(1)


@pytest.fixture
def compose_train() -> Callable[..., DictConfig]:
    """``compose_train(overrides, config_name="train")`` -> the composed config (no Hydra run)."""

    def _compose(overrides: list[str] = (), config_name: str = "train") -> DictConfig:
        return compose_config(config_name, overrides)

    return _compose
