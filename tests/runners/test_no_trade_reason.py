"""backtest.py says in one line why a run made no trade: a prior model, or an edge that never
reached the entry threshold (with its range); nothing when it traded."""

from __future__ import annotations

import numpy as np

from bt_attention_lstm.models.artifact import load_artifact, save_artifact
from bt_attention_lstm.models.training.calibration import VectorScaling
from bt_attention_lstm.runners.backtest import build_parser
from bt_attention_lstm.runners.cli.errors import parser_flags, translate
from bt_attention_lstm.runners.research.cerebro import run_cerebro
from bt_attention_lstm.runners.research.reporting import no_trade_reason
from tests.strategies.conftest import constant_signal_artifact, crafted_market, wiggle

PARAMS = {"device": "cpu", "threshold": 0.2}


def test_a_timid_model_reports_its_edge_range_against_the_threshold(tmp_path):
    model = constant_signal_artifact(tmp_path / "timid", 0.3, 0.4)  # edge +0.10
    result = run_cerebro(crafted_market(wiggle(300)), model, PARAMS)
    reason = no_trade_reason(result, model, 0.2, allow_short=False)
    assert reason is not None and "[+0.100, +0.100]" in reason and "threshold 0.2" in reason


def test_a_short_signal_with_shorts_off_says_so(tmp_path):
    model = constant_signal_artifact(tmp_path / "bearish", 0.6, 0.1)  # edge -0.50
    result = run_cerebro(crafted_market(wiggle(300)), model, PARAMS)
    reason = no_trade_reason(result, model, 0.2, allow_short=False)
    # the library names the parameter; the backtest command prints its flag
    assert reason is not None and "short signals need `allow_short`" in reason
    flags = parser_flags(build_parser())
    assert translate(reason, flags).endswith("short signals need --allow-short")
    traded = run_cerebro(crafted_market(wiggle(300)), model, {**PARAMS, "allow_short": True})
    assert no_trade_reason(traded, model, 0.2, allow_short=True) is None


def test_a_prior_model_is_named_as_such(tmp_path):
    raw = constant_signal_artifact(tmp_path / "raw", 0.3, 0.3)
    labels = np.array([0] * 10 + [1] * 20 + [2] * 70)
    save_artifact(tmp_path / "prior", raw.model, raw.scaler, raw.feature_spec, raw.horizon,
                  {"training": raw.meta["training"]}, calibrations=[VectorScaling.prior(labels)])
    prior = load_artifact(tmp_path / "prior")
    result = run_cerebro(crafted_market(wiggle(300)), prior, PARAMS)
    reason = no_trade_reason(result, prior, 0.2, allow_short=False)
    assert reason is not None and "class prior" in reason


def test_a_run_that_traded_needs_no_reason(tmp_path):
    model = constant_signal_artifact(tmp_path / "bullish", 0.1, 0.7)
    result = run_cerebro(crafted_market(wiggle(300)), model, PARAMS)
    assert not result.trades.empty
    assert no_trade_reason(result, model, 0.2, allow_short=False) is None
