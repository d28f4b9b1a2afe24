"""Fixtures of the walk-forward, sweep, engine and multi-symbol tests.

- ``ray_local`` (session): a real local Ray with 2 CPUs, shut down when the session ends; the
  test is skipped where Ray (the ``distributed`` extra) is not installed.
- ``tiny_market`` (session): 900 bars of the seeded synthetic market (read-only).
- ``tiny_fold_settings``: a tiny model (hidden 8, 1 layer, seq_len 10), one epoch, CPU.
- ``market_csv``: ``tiny_market`` written as a generic CSV for the command-line tests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bt_attention_lstm.models.data.synthetic import synthetic_market
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import TrainConfig
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.walkforward.fold import FoldSettings

TINY_MARKET_BARS = 900
TINY_MODEL = ModelConfig(
    n_features=FeatureSpec().n_features, hidden=8, layers=1, heads=1, dropout=0.0, seq_len=10
)
# calibration "none": these tests check the fold, stitch and engine plumbing, which needs fold
# models whose output moves (calibrated, a 1-epoch network on 500 bars is the constant prior)
TINY_TRAIN = TrainConfig(
    epochs=1, folds=2, patience=1, batch_size=128, seed=5, device="cpu", calibration="none",
    objective="classify",
)
TINY_STRATEGY: dict[str, Any] = {"threshold": 0.05, "device": "cpu"}
# 2 folds on the tiny market: test windows [505, 685) and [685, 865).
TRAIN_BARS, TEST_BARS = 500, 180


@pytest.fixture(scope="session")
def ray_local() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def tiny_market() -> pd.DataFrame:
    df = synthetic_market(TINY_MARKET_BARS, seed=11)
    df.attrs["source"] = "synthetic-900"
    return df


@pytest.fixture
def tiny_fold_settings() -> FoldSettings:
    return FoldSettings(TINY_MODEL, TINY_TRAIN, dict(TINY_STRATEGY), BrokerConfig(), 252.0)


@pytest.fixture
def market_csv(tiny_market: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "market.csv"
    tiny_market.to_csv(path, index_label="datetime")
    return path
