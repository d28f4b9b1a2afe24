"""write_backtest_report: every file, strict JSON, and all-or-nothing on disk."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bt_attention_lstm.reports.writer as writer_module
from bt_attention_lstm.reports import (
    ReportExistsError,
    compute_metrics,
    new_run_dir,
    write_backtest_report,
)
from tests.reports.conftest import PPY_DAILY, Backtest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FILES = {"tearsheet.html", "metrics.json", "returns.csv", "trades.csv", "chart.png"}


def write(backtest: Backtest, out: Path, **overrides) -> Path:
    arguments = {
        "returns": backtest.returns,
        "trades": backtest.trades,
        "metrics": compute_metrics(backtest.returns, backtest.trades, 0.5, PPY_DAILY),
        "price": backtest.price,
        "edge": backtest.confidence,
        "threshold": backtest.threshold,
        "periods_per_year": PPY_DAILY,
        "title": "t",
        "html": False,  # the tear sheet is covered once by the session fixture
    }
    arguments.update(overrides)
    return write_backtest_report(out, **arguments)


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".tmp-")]


def test_report_has_every_file(report_dir: Path) -> None:
    assert {p.name for p in report_dir.iterdir()} == FILES
    assert leftovers(report_dir.parent) == []


def test_chart_is_a_real_png(report_dir: Path) -> None:
    data = (report_dir / "chart.png").read_bytes()
    assert len(data) > 1000
    assert data.startswith(PNG_MAGIC)


def test_returns_csv_layout(report_dir: Path, backtest: Backtest) -> None:
    csv = pd.read_csv(report_dir / "returns.csv", index_col="datetime", parse_dates=True)
    assert list(csv.columns) == ["strategy", "benchmark"]
    # Exact float round trip: metrics recomputed from the CSV are the same numbers.
    np.testing.assert_array_equal(csv.to_numpy(), backtest.returns.to_numpy())


def test_trades_csv_puts_canonical_columns_first(report_dir: Path) -> None:
    header = (report_dir / "trades.csv").read_text().splitlines()[0].split(",")
    assert header == list(writer_module.TRADE_COLUMNS)


def test_metrics_json_is_strict_json_with_nulls(backtest: Backtest, tmp_path: Path) -> None:
    metrics = compute_metrics(
        backtest.returns.assign(strategy=0.0), backtest.trades.iloc[0:0], 0, 1
    )
    metrics["extra"] = {"nan": float("nan"), "inf": np.inf, "np": np.float64(0.25)}
    out = write(backtest, tmp_path / "run", metrics=metrics)
    text = (out / "metrics.json").read_text()

    def refuse(token: str) -> float:
        raise AssertionError(f"non-standard JSON token {token}")

    parsed = json.loads(text, parse_constant=refuse)
    assert parsed["extra"] == {"nan": None, "inf": None, "np": 0.25}
    assert parsed["strategy"]["sharpe"] is None and parsed["strategy"]["win_rate"] is None
    assert "NaN" not in text and "Infinity" not in text


def test_failing_chart_leaves_nothing_behind(backtest: Backtest, tmp_path: Path) -> None:
    target = tmp_path / "run"
    with pytest.raises(TypeError, match="price"):
        write(backtest, target, price=None)  # metrics.json and CSVs are already written
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_failing_tearsheet_leaves_nothing_behind(
    backtest: Backtest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("quantstats broke")

    monkeypatch.setattr(writer_module, "write_tearsheet", explode)
    target = tmp_path / "run"
    with pytest.raises(RuntimeError, match="quantstats broke"):
        write(backtest, target, html=True)
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_refuses_non_empty_directory(backtest: Backtest, tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ReportExistsError, match="not an empty directory") as info:
        write(backtest, target)
    assert isinstance(info.value, FileExistsError)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert leftovers(tmp_path) == []


def test_fills_an_existing_empty_directory(backtest: Backtest, tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    out = write(backtest, target)
    assert {p.name for p in out.iterdir()} == FILES - {"tearsheet.html"}


def test_creates_missing_parents(backtest: Backtest, tmp_path: Path) -> None:
    out = write(backtest, tmp_path / "a" / "b" / "run")
    assert (out / "metrics.json").is_file()


def test_new_run_dir_is_fresh_and_not_created(tmp_path: Path) -> None:
    first = new_run_dir(tmp_path)
    assert first.parent == tmp_path and not first.exists()
    first.mkdir()
    second = new_run_dir(tmp_path)
    assert second != first and not second.exists()


def test_written_metrics_equal_the_computed_ones(report_dir: Path, backtest: Backtest) -> None:
    written = json.loads((report_dir / "metrics.json").read_text())
    computed = compute_metrics(backtest.returns, backtest.trades, 0.5, PPY_DAILY)
    for side, values in computed.items():
        for key, value in values.items():
            assert written[side][key] == value or (value is None and written[side][key] is None)
            assert not (isinstance(value, float) and math.isnan(value))


def test_new_run_dir_defaults_to_the_runs_root_not_the_working_directory(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = new_run_dir()
    assert path.parent == tmp_path / "data" / "bt-attention-lstm" / "runs"
    assert path.name.startswith("report-")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert new_run_dir().parent == Path.home() / ".local/share/bt-attention-lstm/runs"
