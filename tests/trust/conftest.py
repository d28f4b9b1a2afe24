"""Fixtures and helpers of the trust tests: tiny model settings, tiny training on a frame, and
out-of-sample backtests scored by their annualised Sharpe ratio."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import Segment, TrainConfig
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.runners.research.audit.core import annualised_sharpe
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, CerebroRun, run_cerebro

# Tiny and fast: hidden 16, one layer, seq_len 10, 3 epochs, CPU. lr 1e-2 (not 1e-3): with ~800
# training windows an epoch is 7 steps, and at 1e-3 the model barely moves from its
# initialisation, so even a blatant leak is only half learnt.
NULL_MODEL = ModelConfig(
    n_features=FeatureSpec().n_features, hidden=16, layers=1, heads=2, dropout=0.0, seq_len=10
)
NULL_TRAIN = TrainConfig(objective="classify", epochs=3, folds=2, patience=2, batch_size=128,
                         lr=1e-2, seed=1, device="cpu")
NO_COSTS = BrokerConfig(commission=0.0, slippage=0.0)
PPY = 252.0


def train_tiny(frame: pd.DataFrame, out: Path, model_config: ModelConfig = NULL_MODEL,
               config: TrainConfig = NULL_TRAIN, segments: list[Segment] | None = None
               ) -> Artifact:
    path, _ = train_and_save([frame], model_config, config, out, progress=False,
                             segments=segments)
    return load_artifact(path)


def oos_backtest(df: pd.DataFrame, artifact: Artifact, first_oos: int,
                 broker: BrokerConfig = NO_COSTS) -> CerebroRun:
    """Trade bars first_oos.. (the bars before only warm the model up), batched on CPU."""
    return run_cerebro(df, artifact, {"device": "cpu"}, broker, trade_start=df.index[first_oos])


def sharpe(result: CerebroRun, column: str = "strategy") -> float:
    return annualised_sharpe(result.returns[column], PPY)


@pytest.fixture(scope="session")
def orcl_2000_2003(orcl_df: pd.DataFrame) -> pd.DataFrame:
    """ORCL 2000-2003 (1004 bars): two years inside the tiny model's training range, two after."""
    frame = orcl_df.loc["2000-01-01":"2003-12-31"].copy()
    frame.attrs = dict(orcl_df.attrs)
    return frame
