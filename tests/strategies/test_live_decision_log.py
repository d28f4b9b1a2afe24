"""The decision log: an INFO record per decision, WARNINGs for faults, and a JSON-lines file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bt_attention_lstm.models.artifact import Artifact
from tests.strategies.live_helpers import FaultyBroker, live_cerebro, varied_signal_artifact, yhoo

KEYS = {"time", "feed", "status", "p_down", "p_flat", "p_up", "confidence", "edge", "action",
        "reason"}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return varied_signal_artifact(tmp_path_factory.mktemp("log") / "model")


def test_every_decision_is_logged_and_written_as_json_lines(
    artifact: Artifact, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "decisions.jsonl"
    df = yhoo()
    cerebro, feed = live_cerebro(df, artifact, backfill=300, decision_log=str(path),
                                 broker=FaultyBroker(faults={"stop": ("reject", 1)}))
    with caplog.at_level(logging.INFO, logger="bt_attention_lstm.strategies.live.decision_log"):
        strat = cerebro.run()[0]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    decisions = [r for r in lines if r["action"] != "order"]
    minperiod = strat.signals[strat.datas[0]]._minperiod
    assert len(decisions) == len(df) - minperiod + 1  # one per bar with a signal
    assert all(set(r) == KEYS for r in decisions)
    assert all(abs(r["p_down"] + r["p_flat"] + r["p_up"] - 1) < 1e-5 for r in decisions)
    assert strat.base_rate == 0.0  # an uncalibrated model: the edge is the confidence
    assert all(r["edge"] == r["confidence"] for r in decisions)
    delayed = [r for r in decisions if r["status"] == "DELAYED"]
    live = [r for r in decisions if r["status"] == "LIVE"]
    assert len(delayed) == 300 - minperiod + 1 and len(live) == len(df) - 300
    assert {r["action"] for r in delayed} == {"wait"}
    assert {"buy", "exit", "hold"} <= {r["action"] for r in live}
    assert live[0]["time"].startswith(str(feed.live_start.date()))
    # The rejected stop is in the file as a WARNING, and in the log.
    events = [r for r in lines if r["action"] == "order"]
    assert any(r["level"] == "WARNING" and "Rejected" in r["reason"] for r in events)
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == len(decisions)
    assert any(r.levelno == logging.WARNING and "Rejected" in r.getMessage()
               for r in caplog.records)
    first_buy = next(r for r in caplog.records if "-> buy" in r.getMessage())
    assert "[LIVE]" in first_buy.getMessage() and "confidence +" in first_buy.getMessage()


def test_nothing_is_formatted_when_the_log_is_off(artifact: Artifact) -> None:
    cerebro, _ = live_cerebro(yhoo("2010-01-01", "2010-12-31"), artifact, backfill=150)
    strat = cerebro.run()[0]
    assert not strat.decisions.active


def test_a_data_gap_on_live_bars_is_warned(
    artifact: Artifact, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    df = yhoo("2010-01-01", "2010-12-31")
    gapped = df.drop(df.index[200:210])  # two weeks of live bars never arrive
    path = tmp_path / "decisions.jsonl"
    cerebro, _ = live_cerebro(gapped, artifact, backfill=150, decision_log=str(path))
    with caplog.at_level(logging.WARNING):
        cerebro.run()
    gaps = [r.getMessage() for r in caplog.records if "data gap" in r.getMessage()]
    assert len(gaps) == 1 and str(df.index[210].date()) in gaps[0]
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert any(r["action"] == "order" and "data gap" in r["reason"] for r in events)
