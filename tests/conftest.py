"""Shared fixtures: compose the package's Hydra configs in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from lucas2019.config import register_configs, register_resolvers

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
register_configs()
register_resolvers()
# The tests' tensors are tiny: one thread is fastest and immune to a busy second core.
torch.set_num_threads(1)


@pytest.fixture
def compose_train() -> Callable[..., DictConfig]:
    """``compose_train(overrides, config_name="train")`` -> the composed config (no Hydra run)."""

    def _compose(overrides: list[str] = (), config_name: str = "train") -> DictConfig:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=list(overrides))

    return _compose
