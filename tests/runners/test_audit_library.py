"""``runners.research.audit`` called as a library: ``run_audit(AuditConfig)`` gives the checks
the backtest of the same bars gives, writes its JSON atomically, and refuses bad settings
before any work; ``audit_text`` words the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.data import infer_periods_per_year, load_ohlcv, select_range
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.reports.jsonsafe import dumps_strict
from bt_attention_lstm.runners.research.audit import (
    AuditConfig,
    AuditResult,
    audit_text,
    run_audit,
)
from bt_attention_lstm.runners.research.audit.core import MIN_SURROGATES, summarise
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, run_cerebro
from tests.conftest import ORCL_PATH

START, END = "2002-01-01", "2004-12-31"


@pytest.fixture(scope="module")
def audited(tiny_artifact, tmp_path_factory) -> tuple[AuditResult, Path]:
    folder = tmp_path_factory.mktemp("audit-library")
    config = AuditConfig(
        model=tiny_artifact, data=str(ORCL_PATH), start=START, end=END, surrogates=2,
        strategy_params={"threshold": 0.02}, json_path=folder / "audit.json",
    )
    return run_audit(config), folder


def test_the_audit_backtests_the_traded_range_as_run_cerebro_does(audited, tiny_artifact):
    result, _ = audited
    bars = select_range(load_ohlcv(ORCL_PATH), None, END)
    periods_per_year = infer_periods_per_year(bars.index)
    start = select_range(bars, START, None).index[0]
    params = {"threshold": 0.02, "device": "cpu", "periods_per_year": periods_per_year}
    run = run_cerebro(bars, load_artifact(tiny_artifact), params, BrokerConfig(),
                      trade_start=start)
    assert result.backtest == summarise(run.returns, len(run.trades), run.exposure,
                                        periods_per_year)
    assert (result.first_traded, result.last_traded) == ("2002-01-02", "2004-12-31")
    assert result.traded_bars == len(run.returns) == int((bars.index >= start).sum())
    assert result.periods_per_year == periods_per_year and result.timeframe == "1d"
    assert result.source == str(ORCL_PATH)


def test_the_checks_and_verdict_of_an_out_of_sample_range(audited):
    result, _ = audited
    assert result.causality.passed and len(result.causality.cuts) == 3
    assert result.overlap.passed and result.overlap.overlap_bars == 0
    assert result.overlap.trained_end.startswith("2001-12")
    assert result.surrogates is not None and len(result.surrogates.sharpes) == 2
    assert (result.surrogates.method, result.surrogates.block_len) == ("block", 5.0)
    # two surrogates cannot reach p <= 0.05: the verdict says what to do, in library words
    assert result.verdict.startswith("NOT TESTED: 2 surrogates")
    assert f"{MIN_SURROGATES} or more surrogates" in result.verdict and "--" not in result.verdict


def test_the_json_report_is_written_atomically_and_matches_the_result(audited):
    result, folder = audited
    assert result.json_path == folder / "audit.json"
    written = json.loads(result.json_path.read_text())
    assert written == json.loads(dumps_strict(result.to_dict()))
    assert written["data"]["bars"] == result.traded_bars
    assert written["backtest"]["sharpe"] == pytest.approx(result.backtest.sharpe)
    assert [p.name for p in folder.iterdir()] == ["audit.json"]  # no temp file left


def test_audit_text_has_a_row_per_check_and_the_verdict_last(audited):
    result, _ = audited
    lines = audit_text(result).splitlines()
    assert lines[0].startswith(f"audit of model {result.model_path} (")
    assert lines[0].endswith("2002-01-02 .. 2004-12-31, "
                             f"{result.traded_bars} bars traded (252 bars/year)")
    assert lines[1] == "" and lines[2].startswith("check")
    rows = {line[:22].strip(): line for line in lines[3:] if line[:22].strip()}
    assert rows["causality (runonce)"].endswith("PASS")
    assert rows["out-of-sample"].endswith("PASS")
    assert rows["surrogates (2)"].endswith("FAIL")
    assert lines[-2:] == ["", f"verdict: {result.verdict}"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"surrogates": -1}, "`surrogates` must be >= 0, got -1"),
        ({"block_len": 0.5}, "`block_len` must be >= 1 bar"),
        ({"method": "shuffle"}, "unknown `method` 'shuffle'"),
        ({"start": "2004-01-01", "end": "2003-01-01"}, "`start` 2004-01-01 is after `end`"),
        ({"json_path": Path("/no/such/folder/a.json")}, "`json_path`"),
    ],
)
def test_bad_settings_are_refused_before_the_model_is_read(changes, message):
    with pytest.raises(ConfigError) as caught:
        run_audit(AuditConfig(model="/no/such/model", **changes))
    assert message in str(caught.value)
