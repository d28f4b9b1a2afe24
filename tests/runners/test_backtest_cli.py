"""runners/backtest.py end to end: outputs, schema, Sharpe agreement, in-sample guard, modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import quantstats as qs

from tests.conftest import DATA_DIR, REPO_ROOT, subprocess_env

OUTPUTS = {"tearsheet.html", "metrics.json", "returns.csv", "trades.csv", "chart.png"}
STRATEGY_KEYS = {"total_return", "cagr", "sharpe", "sortino", "max_drawdown", "volatility",
                 "calmar", "win_rate", "n_trades", "exposure", "psr"}
BENCHMARK_KEYS = {"total_return", "cagr", "sharpe", "sortino", "max_drawdown", "volatility"}


def backtest(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "runners/backtest.py", *args], cwd=REPO_ROOT, capture_output=True,
        text=True, env=subprocess_env(XDG_CACHE_HOME=str(cache)), timeout=600,
    )


def check_schema(metrics: dict) -> None:  # type: ignore[type-arg]
    assert STRATEGY_KEYS <= set(metrics["strategy"])
    assert BENCHMARK_KEYS <= set(metrics["benchmark"])
    assert {"start", "end", "bars", "timeframe", "periods_per_year"} <= set(metrics["period"])
    assert {"path", "sha256", "trained_start", "trained_end"} <= set(metrics["model"])
    assert isinstance(metrics["in_sample"], bool)
    assert metrics["strategy"]["max_drawdown"] <= 0 and metrics["benchmark"]["max_drawdown"] <= 0


def test_default_run_is_out_of_sample_and_cached(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = backtest("--out", str(tmp_path / "r1"), cache=cache)
    assert first.returncode == 0, first.stderr
    # it explains itself: where it writes, then what it will do and about how long, then one
    # bar per stage with a total, never the trainer's bar per fit ("fold 1", ...)
    lines = first.stdout.splitlines()
    assert lines[0] == f"writing to {tmp_path / 'r1'}"
    assert lines[1].startswith("plan: no --model given: train a small model on the first 60% "
                               "of the built-in synthetic market (2400 of 4000 daily bars; ")
    assert "then backtest it on the last 1600 bars" in lines[1]
    assert "training the model: 100%" in first.stderr and "| 4/4 " in first.stderr
    assert "backtest: 100%" in first.stderr and "| 1600/1600 " in first.stderr
    assert "fold 1" not in first.stderr
    assert "open the tear sheet: xdg-open " in first.stdout or sys.platform != "linux"
    assert {p.name for p in (tmp_path / "r1").iterdir()} == OUTPUTS
    metrics = json.loads((tmp_path / "r1" / "metrics.json").read_text())
    check_schema(metrics)
    assert metrics["in_sample"] is False and "out-of-sample" in first.stdout
    assert pd.Timestamp(metrics["period"]["start"]) > pd.Timestamp(metrics["model"]["trained_end"])
    returns = pd.read_csv(tmp_path / "r1" / "returns.csv", index_col="datetime", parse_dates=True)
    periods_per_year = metrics["period"]["periods_per_year"]
    assert periods_per_year == 252
    expected = qs.stats.sharpe(returns["strategy"], periods=periods_per_year)
    if metrics["strategy"]["sharpe"] is None:
        assert returns["strategy"].std() == 0
    else:
        assert metrics["strategy"]["sharpe"] == pytest.approx(expected, rel=1e-12)
    assert metrics["strategy"]["max_drawdown"] == pytest.approx(
        metrics["backtrader"]["max_drawdown"], abs=1e-12)
    assert "trained" in first.stdout
    second = backtest("--out", str(tmp_path / "r2"), "--no-html", "--quiet", cache=cache)
    assert second.returncode == 0, second.stderr
    assert "cached" in second.stdout  # the default model was reused, not retrained
    assert "plan:" not in second.stdout and "%|" not in second.stderr  # --quiet
    again = json.loads((tmp_path / "r2" / "metrics.json").read_text())
    assert again["strategy"] == metrics["strategy"]


def test_in_sample_backtest_is_flagged(tmp_path: Path, tiny_artifact: Path) -> None:
    run = backtest("--data", str(DATA_DIR / "orcl-1995-2014.txt"), "--model", str(tiny_artifact),
                   "--end", "2003-12-31", "--out", str(tmp_path / "r"), "--no-html",
                   cache=tmp_path)
    assert run.returncode == 0, run.stderr
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["in_sample"] is True
    assert "IN-SAMPLE" in run.stderr and "IN-SAMPLE" in run.stdout


def test_run_modes_give_identical_metrics(tmp_path: Path, tiny_artifact: Path) -> None:
    common = ["--data", str(DATA_DIR / "nvda-1999-2014.txt"), "--model", str(tiny_artifact),
              "--start", "2004-01-01", "--end", "2006-12-31", "--no-html", "--threshold", "0.05",
              "--trail", "0.08"]
    outs = {}
    for flag in ("", "--no-runonce", "--no-preload"):
        out = tmp_path / (flag.strip("-") or "runonce")
        run = backtest(*common, *([flag] if flag else []), "--out", str(out), cache=tmp_path)
        assert run.returncode == 0, run.stderr
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["in_sample"] is False
        outs[flag] = (metrics["strategy"], (out / "trades.csv").read_text())
    assert outs[""] == outs["--no-runonce"] == outs["--no-preload"]
    assert outs[""][0]["n_trades"] > 0


def test_intraday_data_is_annualised_by_bars_per_session(tmp_path: Path,
                                                         tiny_artifact: Path) -> None:
    # A daily model on intraday bars, on purpose: only the annualisation is under test here.
    run = backtest("--data", str(DATA_DIR / "2006-min-005.txt"), "--model", str(tiny_artifact),
                   "--out", str(tmp_path / "r"), "--no-html", "--allow-timeframe-mismatch",
                   cache=tmp_path)
    assert run.returncode == 0, run.stderr
    period = json.loads((tmp_path / "r" / "metrics.json").read_text())["period"]
    assert period["timeframe"] == "5min"
    assert period["periods_per_year"] == pytest.approx(102 * 252)
    # Hourly bars of the 1-minute file: the 5-minute file has 189 hours, fewer than the ta-v2
    # warm-up (346 bars) needs.
    minutes = DATA_DIR / "2006-01-02-volume-min-001.txt"
    hourly = backtest("--data", str(minutes), "--model", str(tiny_artifact),
                      "--timeframe", "1h", "--out", str(tmp_path / "h"), "--no-html",
                      "--allow-timeframe-mismatch", cache=tmp_path)
    assert hourly.returncode == 0, hourly.stderr
    period = json.loads((tmp_path / "h" / "metrics.json").read_text())["period"]
    assert period["timeframe"] == "1h" and period["periods_per_year"] < 102 * 252


def test_help_documents_every_flag() -> None:
    run = subprocess.run([sys.executable, "runners/backtest.py", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, env=subprocess_env())
    assert run.returncode == 0
    for flag in ("--data", "--format", "--symbol", "--model", "--start", "--end", "--timeframe",
                 "--cash", "--commission", "--slippage", "--threshold", "--max-position",
                 "--sizing", "--stop-loss", "--atr-stop", "--trail", "--take-profit",
                 "--allow-short", "--device", "--no-runonce", "--out", "--no-html"):
        assert flag in run.stdout
