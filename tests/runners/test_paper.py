"""runners/paper.py: a live rehearsal on a CSV, reported like a backtest of its live part."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, run_cerebro
from bt_attention_lstm.runners.research.paper import SessionSettings, replay_session, run_paper
from tests.conftest import DATA_DIR, ORCL_PATH, REPO_ROOT, subprocess_env
from tests.strategies.live_helpers import TRADING, varied_signal_artifact

YHOO = DATA_DIR / "yhoo-1996-2014.txt"


def paper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "runners/paper.py", *args], cwd=REPO_ROOT, capture_output=True,
        text=True, env=subprocess_env(), timeout=600,
    )


def test_paper_runs_as_the_readme_says_and_writes_its_report(
    tmp_path: Path, tiny_artifact: Path,
) -> None:
    out = tmp_path / "paper"
    # The README's command, with the tiny model in place of the ORCL one: no --backfill, so
    # the model's own need (warm-up + sequence length + the settling margin), and no warning.
    run = paper("--data", str(ORCL_PATH), "--model", str(tiny_artifact), "--start", "2008-03-24",
                "--no-html", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    for name in ("metrics.json", "returns.csv", "trades.csv", "chart.png", "state.json",
                 "decisions.jsonl"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    df = load_ohlcv(ORCL_PATH).loc["2008-03-24":]
    from bt_attention_lstm.runners.research.paper import needed_backfill

    backfill = needed_backfill(load_artifact(tiny_artifact))
    assert backfill == warmup_bars() + 10 + 100  # the tiny model reads 10-bar windows
    assert metrics["paper"]["live_start"] == str(df.index[backfill])
    assert metrics["paper"]["backfill_bars"] == backfill
    assert pd.Timestamp(metrics["paper"]["live_start"]) > pd.Timestamp("2010-01-01")
    assert metrics["paper"]["orders_on_backfill"] == 0
    assert metrics["period"]["bars"] == len(df) - backfill
    records = [json.loads(line) for line in (out / "decisions.jsonl").read_text().splitlines()]
    assert {r["status"] for r in records if r["action"] != "order"} == {"DELAYED", "LIVE"}
    assert json.loads((out / "state.json").read_text())["format"] == 1
    assert not list(tmp_path.glob(".paper-*")), "scratch files left behind"


def test_the_live_part_equals_a_backtest_from_the_first_live_bar(tmp_path: Path) -> None:
    artifact = varied_signal_artifact(tmp_path / "model")
    df = load_ohlcv(YHOO).loc["2009-06-01":"2011-12-31"]
    broker = BrokerConfig(commission=0.001, slippage=0.0005)
    session = replay_session(df, artifact, TRADING, broker,
                             SessionSettings(backfill=300, state_path=tmp_path / "s.json"))
    assert session.live_start == df.index[300] and session.backfill_orders == 0
    backtest = run_cerebro(df, artifact, TRADING, broker, trade_start=session.live_start)
    assert len(backtest.trades) >= 5
    pd.testing.assert_frame_equal(session.result.returns, backtest.returns, atol=1e-12)
    pd.testing.assert_frame_equal(session.result.trades, backtest.trades.assign(data="data0"),
                                  atol=1e-9)
    assert session.result.exposure == pytest.approx(backtest.exposure)


def test_a_backfill_longer_than_the_data_exits_2_and_writes_nothing(
    tmp_path: Path, tiny_artifact: Path,
) -> None:
    out = tmp_path / "paper"
    run = paper("--data", str(YHOO), "--model", str(tiny_artifact), "--start", "2011-01-01",
                "--backfill", "100000", "--out", str(out))
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "backfill" in run.stderr
    assert not out.exists() and not list(tmp_path.glob(".paper-*"))


def test_help_lists_the_session_flags() -> None:
    run = paper("--help")
    assert run.returncode == 0
    for flag in ("--backfill", "--speed", "--state", "--decision-log", "--model", "--data"):
        assert flag in run.stdout


def test_run_paper_goes_live_after_the_backfill_and_reports_the_live_part(
    tmp_path: Path, tiny_artifact: Path,
) -> None:
    from bt_attention_lstm.runners.research.paper import PaperConfig, needed_backfill

    config = PaperConfig(model=tiny_artifact, data=str(ORCL_PATH), start="2008-03-24",
                         end="2010-12-31", html=False, out=tmp_path / "paper")
    result = run_paper(config)
    df = load_ohlcv(ORCL_PATH).loc["2008-03-24":"2010-12-31"]
    backfill = needed_backfill(load_artifact(tiny_artifact))
    assert result.backfill == backfill and result.live_start == df.index[backfill]
    live = result.session.result.returns.index
    assert live[0] == result.live_start and live.equals(df.index[backfill:])
    assert result.session.backfill_orders == 0
    assert result.metrics["paper"]["live_start"] == str(df.index[backfill])
    assert result.metrics["period"]["bars"] == len(df) - backfill
    assert result.out == config.out
    assert result.state_path == config.out / "state.json" and result.state_path.is_file()
    assert result.decision_log == config.out / "decisions.jsonl"
    assert not list(tmp_path.glob(".paper-*"))


def test_plan_paper_refuses_a_backfill_longer_than_the_data(
    tmp_path: Path, tiny_artifact: Path,
) -> None:
    from bt_attention_lstm.models.errors import DataError
    from bt_attention_lstm.runners.research.paper import PaperConfig, plan_paper

    config = PaperConfig(model=tiny_artifact, data=str(YHOO), start="2011-01-01",
                         backfill=100_000, out=tmp_path / "never")
    with pytest.raises(DataError, match="`backfill`"):
        plan_paper(config)
    assert not (tmp_path / "never").exists()
