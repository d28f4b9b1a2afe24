"""Positions close when the edge in their favour falls to ``exit_threshold`` (0 by default: the
model no longer favours them); ``None`` keeps the old rule, the opposite signal (-threshold).
Checked on real ORCL bars with a model whose confidence moves, through the decision log."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.research.cerebro import run_cerebro

THRESHOLD = 0.05


def _decisions(orcl_df: pd.DataFrame, artifact, log: Path, exit_threshold) -> list[dict]:  # type: ignore[no-untyped-def]
    frame = orcl_df.loc["1999-01-01":"2004-12-31"]
    run_cerebro(frame, artifact, {
        "device": "cpu", "threshold": THRESHOLD, "exit_threshold": exit_threshold,
        "allow_short": True, "stop_loss": None, "regime_filter": False,
        "decision_log": str(log),
    })
    return [r for r in map(json.loads, log.read_text().splitlines()) if r["action"] != "order"]


@pytest.mark.parametrize(("exit_threshold", "level"), [(0.0, 0.0), (None, -THRESHOLD),
                                                        (0.02, 0.02)])
def test_positions_close_exactly_when_the_edge_in_their_favour_reaches_the_exit_level(
    orcl_df, tiny_artifact, tmp_path, exit_threshold, level
) -> None:  # type: ignore[no-untyped-def]
    records = _decisions(orcl_df, load_artifact(tiny_artifact), tmp_path / "log.jsonl",
                         exit_threshold)
    side = 0.0  # the side of the last entry decided: +1 long, -1 short
    holds = exits = 0
    for r in records:
        if r["action"] in ("buy", "sell"):
            side = 1.0 if r["action"] == "buy" else -1.0
        elif r["action"] == "exit":
            assert side * r["edge"] <= level + 1e-9, r
            exits += 1
        elif r["action"] == "hold" and r["reason"] == "in position":
            assert side * r["edge"] > level - 1e-9, r
            holds += 1
    assert exits >= 3 and holds >= 20, "the run must exercise both rules"


@pytest.mark.parametrize("bad", [0.3, -0.3])
def test_an_exit_level_beyond_the_entry_threshold_is_refused(tiny_artifact, orcl_df, bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="exit_threshold"):
        run_cerebro(orcl_df.iloc[:600], load_artifact(tiny_artifact),
                     {"device": "cpu", "threshold": 0.2, "exit_threshold": bad})
