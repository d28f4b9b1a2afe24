"""A calibrated model is anchored at its training labels' class frequencies, so its confidence
carries the drift of its training range. The strategy trades the edge beyond that base rate
(``relative_confidence``, the default); ``relative_confidence=False`` compares with zero."""

from __future__ import annotations

import json
from pathlib import Path

import backtrader as bt
import pytest

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.training.calibration import VectorScaling
from bt_attention_lstm.runners.research.cerebro import pandas_feed, run_cerebro
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.strategies.conftest import constant_signal_artifact, crafted_market, wiggle

# The identity written as a fitted scaling: the network's output unchanged, but anchored.
ANCHORED_IDENTITY = VectorScaling((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), "vector")


def calibrated(source: Artifact, out: Path, class_counts: list[int]) -> Artifact:
    meta = {"training": source.meta["training"], "cv": {"class_counts": class_counts}}
    save_artifact(out, source.model, source.scaler, source.feature_spec, source.horizon, meta,
                  calibrations=[ANCHORED_IDENTITY])
    return load_artifact(out)


def test_the_base_rate_is_the_training_labels_confidence_for_calibrated_models_only(tmp_path):
    raw = constant_signal_artifact(tmp_path / "raw", 0.1, 0.45)
    assert raw.prior_confidence == 0.0  # uncalibrated: no anchor
    model = calibrated(raw, tmp_path / "cal", [10, 20, 70])
    assert model.prior_confidence == pytest.approx(0.6)
    assert not model.says_nothing


@pytest.mark.parametrize(
    ("class_counts", "relative", "trades"),
    [
        ([10, 30, 60], True, False),  # confidence +0.35, base +0.50: edge -0.15, no view
        ([10, 30, 60], False, True),  # compared with zero: +0.35 buys
        ([40, 30, 30], True, True),  # base -0.10: edge +0.45 buys
        ([25, 50, 25], True, True),  # base 0: the same as absolute
    ],
)
def test_entries_need_an_edge_beyond_the_base_rate(tmp_path, class_counts, relative, trades):
    model = calibrated(constant_signal_artifact(tmp_path / "raw", 0.1, 0.45), tmp_path / "cal",
                       class_counts)
    result = run_cerebro(crafted_market(wiggle(300)), model,
                          {"device": "cpu", "threshold": 0.2, "relative_confidence": relative})
    assert (not result.trades.empty) is trades


def test_exits_are_measured_from_the_base_rate_too(tmp_path):
    """Confidence +0.35 is a long signal read from zero, but against a base rate of +0.70 it is
    an edge of -0.35: a short one."""
    raw = constant_signal_artifact(tmp_path / "raw", 0.1, 0.45)
    model = calibrated(raw, tmp_path / "cal", [5, 20, 75])  # base +0.70
    strategy_params = {"device": "cpu", "threshold": 0.2, "allow_short": True}
    result = run_cerebro(crafted_market(wiggle(300)), model, strategy_params)
    sides = set(result.trades["side"]) if not result.trades.empty else set()
    assert sides == {"short"}, "an edge of -0.35 beyond the base rate is a short signal"
    absolute = run_cerebro(crafted_market(wiggle(300)), model,
                            {**strategy_params, "relative_confidence": False})
    assert set(absolute.trades["side"]) == {"long"}


def test_the_decision_log_records_the_edge_it_acted_on(tmp_path):
    model = calibrated(constant_signal_artifact(tmp_path / "raw", 0.1, 0.45), tmp_path / "cal",
                       [40, 30, 30])  # base -0.10
    log = tmp_path / "decisions.jsonl"
    run_cerebro(crafted_market(wiggle(300)), model,
                 {"device": "cpu", "threshold": 0.2, "decision_log": str(log)})
    decisions = [r for r in map(json.loads, log.read_text().splitlines()) if r["action"] != "order"]
    assert decisions and all(r["confidence"] == pytest.approx(0.35, abs=1e-5) for r in decisions)
    assert all(r["edge"] == pytest.approx(0.45, abs=1e-5) for r in decisions)
    assert any(r["action"] == "buy" and "edge +0.450" in r["reason"] for r in decisions)


def test_the_signal_plot_draws_the_entry_lines_around_the_base_rate(tmp_path):
    model = calibrated(constant_signal_artifact(tmp_path / "raw", 0.1, 0.45), tmp_path / "cal",
                       [10, 30, 60])  # base +0.50
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(crafted_market(wiggle(120))))
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=model, device="cpu", threshold=0.2)
    (signal,) = cerebro.run()[0].signals.values()
    assert signal.plotinfo.plothlines == pytest.approx([0.7, 0.5, 0.3])
    assert "base rate +0.500" in signal.plotlabel()
