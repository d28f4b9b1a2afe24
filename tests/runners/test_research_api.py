"""The research API as a notebook uses it: config objects in, result objects out, no command
line. train -> run_backtest -> the report, with values checked against what they must equal."""

from __future__ import annotations

import json
import logging
from dataclasses import fields, replace
from pathlib import Path

import pandas as pd
import pytest

from bt_attention_lstm.models.errors import ConfigError, DataError
from bt_attention_lstm.runners import research
from tests.conftest import TINY_MODEL, TINY_TRAIN

SAMPLE = "sample:orcl-1995-2014.txt"
REPORT = ["chart.png", "metrics.json", "returns.csv", "trades.csv"]
# a model that trades often enough to count: the raw network (not calibrated to the prior when
# its tiny training finds no edge), every positive edge an entry
TRAINING = replace(TINY_TRAIN, calibration="none")
PARAMS = {"threshold": 0.0, "exit_threshold": 0.0, "stop_loss": 0.05}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> research.TrainResult:
    out = tmp_path_factory.mktemp("notebook") / "model"
    config = research.TrainRunConfig(
        model=TINY_MODEL, training=TRAINING, data=SAMPLE, start="1995-01-01",
        end="1999-12-31", out=out,
    )
    return research.train(config)


def test_train_returns_the_artifact_and_its_cv_evidence(trained: research.TrainResult) -> None:
    from bt_attention_lstm.models.training.cv_report import cv_warnings

    assert (trained.out / "model.safetensors").is_file()
    assert trained.meta == json.loads((trained.out / "meta.json").read_text())
    assert trained.meta["training"]["end"] == "1999-12-31" == str(trained.end.date())
    assert trained.meta["training"]["start"] == str(trained.start.date()) == "1995-01-03"
    assert len(trained.cv["folds"]) == TINY_TRAIN.folds
    assert trained.warnings == cv_warnings(trained.cv)
    assert trained.sources == [str(Path(trained.meta["training"]["sources"][0]))]
    assert trained.artifact.trained_range == ("1995-01-03", "1999-12-31")
    assert trained.artifact.seq_len == TINY_MODEL.seq_len


def test_backtest_of_the_trained_model_out_of_sample(
    trained: research.TrainResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bt_attention_lstm.reports import compute_metrics

    caplog.set_level(logging.WARNING)
    config = research.BacktestConfig(
        data=SAMPLE, model=trained.out, start="2000-01-01", end="2001-12-31",
        strategy_params=PARAMS, html=False, out=tmp_path / "bt",
    )
    result = research.run_backtest(config)

    assert result.out == tmp_path / "bt" and sorted(p.name for p in result.out.iterdir()) == REPORT
    assert not result.default_model and not result.in_sample
    assert not [r for r in caplog.records if "IN-SAMPLE" in r.getMessage()]
    assert result.start == pd.Timestamp("2000-01-01")
    assert result.returns.index[0] == pd.Timestamp("2000-01-03")
    assert result.returns.index[-1] == pd.Timestamp("2001-12-31")
    # the metrics are the reporting layer's on the result's own series
    periods_per_year = result.metrics["period"]["periods_per_year"]
    expected = compute_metrics(result.returns, result.trades, result.run.exposure,
                               periods_per_year)
    assert result.metrics["strategy"] == pytest.approx(expected["strategy"], nan_ok=True)
    assert result.metrics["strategy"]["n_trades"] == len(result.trades) > 0
    # ... and the files hold the same
    written = json.loads((result.out / "metrics.json").read_text())
    assert written["strategy"]["n_trades"] == len(result.trades)
    assert written["model"]["path"] == str(trained.out) and written["in_sample"] is False
    returns = pd.read_csv(result.out / "returns.csv", index_col=0, parse_dates=True)
    assert returns["strategy"].to_numpy() == pytest.approx(result.returns["strategy"].to_numpy())
    assert len(pd.read_csv(result.out / "trades.csv")) == len(result.trades)
    assert result.threshold == 0.0 and result.no_trade_reason is None
    assert set(result.metrics["rules"]["portfolio"]["scores"]) >= {"attention_lstm"}


def test_a_backtest_over_the_training_range_is_flagged_in_sample(
    trained: research.TrainResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    result = research.run_backtest(research.BacktestConfig(
        data=SAMPLE, model=trained.out, start="1999-06-01", end="2000-06-30",
        strategy_params=PARAMS, html=False, out=tmp_path / "bt",
    ))
    assert result.in_sample and result.metrics["in_sample"] is True
    warnings = [r for r in caplog.records if "IN-SAMPLE" in r.getMessage()]
    assert len(warnings) == 1 and "1995-01-03 .. 1999-12-31" in warnings[0].getMessage()


def test_plan_backtest_checks_before_writing_anything(
    trained: research.TrainResult, tmp_path: Path
) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"^`out` .* already exists and is not empty"):
        research.plan_backtest(research.BacktestConfig(data=SAMPLE, model=trained.out, out=busy))
    with pytest.raises(ConfigError, match="`allow_timeframe_mismatch`"):
        research.plan_backtest(research.BacktestConfig(
            data=SAMPLE, model=trained.out, timeframe="1w", out=tmp_path / "weekly"))
    with pytest.raises(ConfigError, match=r"^`start` 2002-01-01 is after `end` 2001-01-01$"):
        research.plan_backtest(research.BacktestConfig(
            data=SAMPLE, start="2002-01-01", end="2001-01-01", out=tmp_path / "dates"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]


def test_plan_backtest_without_a_model_plans_the_default_one(tmp_path: Path) -> None:
    plan = research.plan_backtest(research.BacktestConfig(
        data=SAMPLE, train_fraction=0.5, out=tmp_path / "bt"))
    assert plan.artifact is None and plan.default_plan is not None
    assert plan.default_plan.train_bars == len(plan.df) // 2
    assert plan.start == plan.default_plan.oos_start == plan.df.index[len(plan.df) // 2]
    assert plan.traded_bars == len(plan.df) - len(plan.df) // 2
    assert not (tmp_path / "bt").exists()
    with pytest.raises(DataError, match=r"^`train_fraction` must be within \[0.1, 0.9\]"):
        research.plan_backtest(research.BacktestConfig(data=SAMPLE, train_fraction=0.95))


def test_without_out_a_fresh_run_folder_under_the_runs_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    plan = research.plan_training(research.TrainRunConfig(
        model=TINY_MODEL, training=TINY_TRAIN, data=[SAMPLE], end="1999-12-31"))
    assert plan.out.parent == tmp_path / "data" / "bt-attention-lstm" / "runs"
    assert plan.out.name.startswith("train-") and not plan.out.exists()
    assert len(plan.frames) == 1 and plan.frames[0].index[-1] == pd.Timestamp("1999-12-31")
    backtest = research.plan_backtest(research.BacktestConfig(data=SAMPLE))
    assert backtest.out.parent == plan.out.parent and backtest.out.name.startswith("backtest-")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing in the working directory


def test_training_refuses_files_of_two_bar_sizes(tmp_path: Path) -> None:
    from bt_attention_lstm.models.data.synthetic import synthetic_market

    daily = synthetic_market()
    weekly = daily.resample("W").agg({"open": "first", "high": "max", "low": "min",
                                      "close": "last", "volume": "sum"})
    daily.to_csv(tmp_path / "daily.csv")
    weekly.to_csv(tmp_path / "weekly.csv")
    config = research.TrainRunConfig(
        model=TINY_MODEL, training=TINY_TRAIN, out=tmp_path / "model",
        data=[str(tmp_path / "daily.csv"), str(tmp_path / "weekly.csv")],
    )
    with pytest.raises(DataError, match=r"different bar sizes.*set `allow_timeframe_mismatch`"):
        research.plan_training(config)
    assert not (tmp_path / "model").exists()


def test_the_empty_trades_frame_has_the_strategys_trade_columns() -> None:
    from bt_attention_lstm.reports.run_result import TRADE_COLUMNS
    from bt_attention_lstm.strategies.execution.trade_record import TradeRecord

    assert TRADE_COLUMNS == tuple(f.name for f in fields(TradeRecord))


def test_every_workflow_is_exported_lazily() -> None:
    for name in ("run_backtest", "train", "run_evaluation", "run_audit", "run_walkforward",
                 "run_sweep", "run_paper"):
        assert callable(getattr(research, name)), name
    for name in ("BacktestConfig", "TrainRunConfig", "EvaluateConfig", "AuditConfig",
                 "WalkForwardConfig", "SweepConfig", "PaperConfig"):
        assert getattr(research, name).__dataclass_params__.frozen, name
