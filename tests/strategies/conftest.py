"""Artifacts with a known, constant signal, and crafted price paths, for strategy tests.

A constant-signal artifact is a real artifact (safetensors + meta.json, loaded and verified by
``load_artifact``) whose weights are all zero except the head's bias: whatever the window, the
model outputs ``softmax(bias)``. That pins the strategy's behaviour to an exact confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import v1_spec
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig

# The model ignores its input, so the short ta-v1 warm-up (49 bars) keeps crafted paths short;
# it also runs every strategy test on a ta-v1 artifact, which must keep working.
SPEC = v1_spec()
N_FEATURES = SPEC.n_features


def constant_signal_artifact(path: Path, p_down: float, p_up: float) -> Artifact:
    """An artifact whose model always answers (p_down, 1 - p_down - p_up, p_up)."""
    p_flat = 1.0 - p_down - p_up
    assert min(p_down, p_flat, p_up) > 0
    model = AttentionLSTM(ModelConfig(n_features=N_FEATURES, hidden=8, layers=1, heads=1,
                                      dropout=0.0, seq_len=5))
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        model.head[1].bias.copy_(torch.tensor([math.log(p_down), math.log(p_flat),
                                               math.log(p_up)]))
    scaler = FeatureScaler(mean=np.zeros(N_FEATURES), scale=np.ones(N_FEATURES))
    save_artifact(path, model, scaler, SPEC, 5,
                  {"training": {"start": "1900-01-01", "end": "1900-12-31"}})
    return load_artifact(path)


@pytest.fixture
def signal_artifact(tmp_path: Path) -> Callable[[float, float], Artifact]:
    counter = iter(range(1000))

    def make(p_down: float, p_up: float) -> Artifact:
        return constant_signal_artifact(tmp_path / f"signal-{next(counter)}", p_down, p_up)

    return make


def crafted_market(closes: np.ndarray, start: str = "2020-01-01", wick: float = 0.002,
                   opens: np.ndarray | None = None, lows: np.ndarray | None = None,
                   highs: np.ndarray | None = None) -> pd.DataFrame:
    """Daily OHLCV around a close path: open = previous close unless given, small wicks."""
    closes = np.asarray(closes, dtype=float)
    o = np.r_[closes[0], closes[:-1]] if opens is None else np.asarray(opens, dtype=float)
    h = np.maximum(o, closes) * (1 + wick) if highs is None else np.asarray(highs, dtype=float)
    lo = np.minimum(o, closes) * (1 - wick) if lows is None else np.asarray(lows, dtype=float)
    index = pd.bdate_range(start, periods=len(closes), name="datetime")
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": closes,
                         "volume": np.full(len(closes), 1e6)}, index=index)


def wiggle(n: int, level: float = 100.0, seed: int = 0) -> np.ndarray:
    """A quiet path around ``level`` (tiny noise keeps every indicator defined)."""
    rng = np.random.default_rng(seed)
    return level * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
