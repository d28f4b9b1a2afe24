"""A model that calibration replaced by the class prior says nothing: its constant confidence
(the prior's p_up - p_down) must not open positions, however far it is from zero."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.calibration import VectorScaling
from bt_attention_lstm.strategies.engine import run_backtest
from tests.strategies.conftest import constant_signal_artifact, crafted_market, wiggle

# training labels that rose 70% of the time: the prior's confidence is 0.7 - 0.1 = +0.6
SKEWED_LABELS = np.array([0] * 10 + [1] * 20 + [2] * 70)


def with_calibration(source: Artifact, out: Path, calibration: VectorScaling) -> Artifact:
    save_artifact(out, source.model, source.scaler, source.feature_spec, source.horizon,
                  {"training": source.meta["training"]}, calibrations=[calibration])
    return load_artifact(out)


def test_a_prior_model_never_opens_a_position(tmp_path, caplog):
    raw = constant_signal_artifact(tmp_path / "raw", 0.3, 0.3)
    prior = with_calibration(raw, tmp_path / "prior", VectorScaling.prior(SKEWED_LABELS))
    assert prior.says_nothing and not raw.says_nothing
    df = crafted_market(wiggle(300))
    with caplog.at_level(logging.WARNING, logger="bt_attention_lstm.strategies.attention_lstm"):
        result = run_backtest(df, prior, {"device": "cpu", "threshold": 0.2})
    assert result.trades.empty
    assert "calibrated to the class prior" in caplog.text


def test_the_same_confidence_from_a_real_model_trades(tmp_path):
    # the control: a (constant) model that was not replaced by the prior, confidence +0.6
    model = constant_signal_artifact(tmp_path / "model", 0.1, 0.7)
    assert not model.says_nothing
    result = run_backtest(crafted_market(wiggle(300)), model, {"device": "cpu", "threshold": 0.2})
    assert not result.trades.empty
