"""``python runners/audit.py``: a planted edge is found, a random walk shows none, an in-sample
range and a look-ahead leak are caught; the surrogate generators keep what they promise."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bt_attention_lstm.runners.research.audit.core as audit_core
from bt_attention_lstm.indicators import FeatureVector
from bt_attention_lstm.indicators.feature_vector import write_line
from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.data.synthetic import planted_edge_market, random_walk_market
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import TrainConfig
from bt_attention_lstm.reports import compute_metrics
from bt_attention_lstm.runners.research.audit.core import (
    SurrogateResult,
    annualised_sharpe,
    causality_check,
    cut_positions,
    surrogate_test,
)
from bt_attention_lstm.runners.research.audit.surrogates import (
    make_surrogate,
    stationary_bootstrap_rows,
)
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, run_cerebro
from tests.conftest import subprocess_env
from tests.trust.conftest import train_tiny
from tests.trust.runner_pool import Invocation, run_many

# 2500 training bars: after the 346-bar feature warm-up, each nested-CV fold's inner slice
# still holds enough windows for the calibration to tell an edge from the prior
N_BARS, TRAIN_BARS = 3500, 2500
MODEL = ModelConfig(
    n_features=FeatureSpec().n_features, hidden=32, layers=1, heads=2, dropout=0.0, seq_len=10
)
TRAIN = TrainConfig(
    objective="classify", epochs=5, folds=2, patience=2, batch_size=128, seed=1, device="cpu"
)
FIRST_DEFINED = warmup_bars() + MODEL.seq_len - 1  # feature warm-up + window


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """A plain datetime,open,high,low,close,volume CSV, as a user would bring."""
    df.to_csv(path, index_label="datetime")
    return path


def trained_on_csv(csv: Path, out: Path) -> Path:
    """A model trained on the first TRAIN_BARS bars of the CSV (as loaded by the runners)."""
    frame = load_ohlcv(csv)
    train_tiny(frame.iloc[:TRAIN_BARS], out, MODEL, TRAIN)
    return out


# -- the audit as a user runs it ------------------------------------------------------------------


@pytest.fixture(scope="module")
def audits(tmp_path_factory) -> dict[str, dict]:
    """Three audits: planted edge and random walk out of sample, planted edge in-sample."""
    root = tmp_path_factory.mktemp("audit")
    edge = write_csv(planted_edge_market(N_BARS, 1), root / "edge.csv")
    walk = write_csv(random_walk_market(N_BARS, 7), root / "walk.csv")
    models = {name: trained_on_csv(csv, root / f"{name}-model")
              for name, csv in (("edge", edge), ("walk", walk))}
    oos_start = str(load_ohlcv(edge).index[TRAIN_BARS].date())
    runs = {
        "edge": (edge, models["edge"], ["--start", oos_start]),
        "walk": (walk, models["walk"], ["--start", oos_start]),
        "in_sample": (edge, models["edge"], ["--surrogates", "0"]),
    }
    invocations = [
        Invocation("runners/audit.py", ["--data", str(csv), "--model", str(model), "--device",
                                        "cpu", "--json", str(root / f"{name}.json"), *extra])
        for name, (csv, model, extra) in runs.items()
    ]
    outcomes = run_many(invocations, subprocess_env())
    results = {}
    for name, outcome in zip(runs, outcomes, strict=True):
        assert outcome.code == 0, outcome.stderr
        assert "Traceback" not in outcome.stderr
        report = json.loads((root / f"{name}.json").read_text())
        results[name] = {"json": report, "stdout": outcome.stdout, "root": root}
    return results


def test_a_planted_edge_is_found(audits):
    report = audits["edge"]["json"]
    assert report["causality"]["passed"] and report["causality"]["max_deviation"] <= 1e-9
    assert report["out_of_sample"]["passed"] and report["out_of_sample"]["overlap_bars"] == 0
    bt = report["backtest"]
    assert bt["sharpe"] >= 1.0 and bt["sharpe"] > bt["benchmark_sharpe"], bt
    assert bt["psr"] >= 0.95
    s = report["surrogates"]
    assert (s["method"], s["n"], s["block_len"]) == ("block", 20, 5.0)  # the defaults
    assert s["p_value"] <= 0.05 and s["passed"], s
    assert report["verdict"].startswith("EDGE")
    assert "verdict: EDGE" in audits["edge"]["stdout"]


def test_a_random_walk_shows_no_edge(audits):
    report = audits["walk"]["json"]
    assert report["causality"]["passed"] and report["out_of_sample"]["passed"]
    # a calibrated model with nothing to say stays under the threshold and never trades
    assert report["surrogates"]["p_value"] > 0.05, report["surrogates"]
    assert report["verdict"].startswith(("NO EVIDENCE", "NO TRADES"))


def test_an_in_sample_range_is_flagged(audits):
    report = audits["in_sample"]["json"]
    overlap = report["out_of_sample"]
    assert overlap["overlap"] and not overlap["passed"]
    assert overlap["overlap_bars"] == TRAIN_BARS
    assert report["surrogates"] is None
    assert report["verdict"].startswith("IN-SAMPLE")
    assert "FAIL" in audits["in_sample"]["stdout"]


def test_json_is_strict_and_consistent(audits):
    root = audits["edge"]["root"]
    text = (root / "edge.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    s = audits["edge"]["json"]["surrogates"]
    k = sum(1 for x in s["sharpes"] if x >= s["real_sharpe"])
    assert s["n_at_least"] == k and s["p_value"] == pytest.approx((1 + k) / (1 + s["n"]))
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temp files left


def test_the_training_cv_verdict_comes_from_the_artifact(audits):
    for name in ("edge", "walk"):
        report, stdout = audits[name]["json"], audits[name]["stdout"]
        cv = report["training_cv"]
        meta = load_artifact(report["model"]["path"]).meta["cv"]
        assert cv["folds"] == TRAIN.folds == len(meta["table"]["folds"])
        assert cv["model_log_loss"] == meta["table"]["mean"]["attention_lstm"]["log_loss"]
        row = next(line for line in stdout.splitlines() if line.startswith("training CV"))
        assert row.rstrip().endswith("PASS" if cv["passed"] else "FAIL")
        assert cv["passed"] == (not cv["warnings"])
        for warning in cv["warnings"]:
            assert f"WARNING: {warning}" in stdout


# -- the causality check can fail ------------------------------------------------------------------


class CentredFeatureVector(FeatureVector):
    """A leak: the first model input replaced by a centred 5-bar mean of returns, reading 2 bars
    ahead."""

    def once(self, start: int, end: int) -> None:
        super().once(start, end)
        close = np.asarray(self.data.close.array, dtype=np.float64)  # the whole preloaded array
        ret = np.diff(np.log(close), prepend=np.nan)
        centred = pd.Series(ret).rolling(5, center=True, min_periods=1).mean().to_numpy()
        write_line(self.model_lines[0], start, centred[start:end])


def test_the_causality_check_passes_on_the_real_indicators(orcl_df, tiny_artifact):
    artifact = load_artifact(tiny_artifact)
    result = causality_check(orcl_df.iloc[:700], artifact, FIRST_DEFINED)
    assert len(result.cuts) == 3 and result.passed and result.max_deviation == 0.0
    assert result.signal_deviation <= 1e-6


def test_the_causality_check_catches_a_future_reading_feature(orcl_df, tiny_artifact,
                                                              monkeypatch):
    monkeypatch.setattr(audit_core, "FeatureVector", CentredFeatureVector)
    artifact = load_artifact(tiny_artifact)
    result = causality_check(orcl_df.iloc[:700], artifact, FIRST_DEFINED)
    assert not result.passed and max(result.max_deviation, result.signal_deviation) > 1e-6
    overlap = audit_core.OverlapResult("a", "b", False, 0)
    summary = audit_core.BacktestSummary(2.0, 0.5, 0.99, 0.3, 0.1, 10, 0.5)
    assert audit_core.verdict(result, overlap, summary, None).startswith("LOOK-AHEAD")


def test_cut_positions_fall_after_the_warm_up_and_leave_a_future():
    assert cut_positions(1000, 58) == [293, 528, 763]
    assert cut_positions(60, 58) == [58]
    assert cut_positions(59, 58) == []


# -- surrogates ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return planted_edge_market(801, 3)


def relative_shape(df: pd.DataFrame) -> np.ndarray:
    return np.column_stack([df[c] / df["close"] for c in ("open", "high", "low")] +
                           [df["volume"]])


@pytest.mark.parametrize("method", ["phase", "block"])
def test_surrogates_keep_the_warm_up_bars_and_valid_ohlc(market, method):
    first = 300
    s = make_surrogate(market, first, method, np.random.default_rng(1))
    pd.testing.assert_frame_equal(s.iloc[:first], market.iloc[:first])
    assert s.index.equals(market.index)
    assert not np.allclose(s["close"].iloc[first:], market["close"].iloc[first:])
    # a bar's open/high/low/volume relative to its close come from one original traded bar
    shapes = relative_shape(market.iloc[first:])
    new = relative_shape(s.iloc[first:])
    matches = (np.abs(new[:, None, :] - shapes[None, :, :]) <= 1e-12 * (1 + np.abs(shapes))
               ).all(axis=2)
    assert matches.any(axis=1).all()


def test_phase_surrogates_keep_the_spectrum_and_the_mean(market):
    first = 300
    real = np.diff(np.log(market["close"].to_numpy()[first - 1 :]))
    s = make_surrogate(market, first, "phase", np.random.default_rng(2))
    fake = np.diff(np.log(s["close"].to_numpy()[first - 1 :]))
    np.testing.assert_allclose(np.abs(np.fft.rfft(fake)), np.abs(np.fft.rfft(real)),
                               rtol=1e-8, atol=1e-12)
    assert fake.mean() == pytest.approx(real.mean(), abs=1e-15)
    assert np.corrcoef(fake, real)[0, 1] < 0.3  # but the timing is gone
    # each bar keeps its own shape (the phase method moves closes, not bars)
    np.testing.assert_allclose(relative_shape(s.iloc[first:]),
                               relative_shape(market.iloc[first:]), rtol=1e-12)


def test_block_bootstrap_resamples_whole_bars_in_blocks(market):
    first = 300
    s = make_surrogate(market, first, "block", np.random.default_rng(3), block_len=10.0)
    real = np.diff(np.log(market["close"].to_numpy()[first - 1 :]))
    fake = np.diff(np.log(s["close"].to_numpy()[first - 1 :]))
    assert np.isin(np.round(fake, 12), np.round(real, 12)).all()
    rows = stationary_bootstrap_rows(200_000, 10.0, np.random.default_rng(4))
    starts = np.count_nonzero(np.diff(rows) != 1)  # where a new block begins (or wraps)
    assert 200_000 / (starts + 1) == pytest.approx(10.0, rel=0.05)


def test_surrogates_are_reproducible_per_seed(market):
    for method in ("phase", "block"):
        a = make_surrogate(market, 300, method, np.random.default_rng(9))
        b = make_surrogate(market, 300, method, np.random.default_rng(9))
        c = make_surrogate(market, 300, method, np.random.default_rng(10))
        pd.testing.assert_frame_equal(a, b)
        assert not a.equals(c)


def test_surrogate_test_is_reproducible_and_the_p_value_never_zero(market, tiny_artifact):
    artifact = load_artifact(tiny_artifact)
    start = market.index[500]
    kw = dict(strategy_params={"device": "cpu"}, broker=BrokerConfig(), trade_start=start,
              real_sharpe=99.0, periods_per_year=252.0, n=3, seed=5)
    a = surrogate_test(market, artifact, **kw)
    b = surrogate_test(market, artifact, **kw)
    assert a.sharpes == b.sharpes and len(a.sharpes) == 3
    assert a.n_at_least == 0 and a.p_value == pytest.approx(0.25) and not a.passed


def test_p_value_counts_surrogates_at_least_as_good():
    r = SurrogateResult("block", 19, 0, 5.0, [0.1] * 18 + [2.0], 1.5)
    assert (r.n_at_least, r.fraction, r.p_value, r.passed) == (1, 1 / 19, 0.1, False)
    r = SurrogateResult("block", 19, 0, 5.0, [0.1] * 19, 1.5)
    assert r.p_value == pytest.approx(0.05) and r.passed


def test_sharpe_matches_the_backtest_report(orcl_df, tiny_artifact):
    """The audit's Sharpe is the one metrics.json reports (quantstats, same periods_per_year)."""
    df = orcl_df.loc["2002-01-01":"2004-12-31"]
    result = run_cerebro(df, load_artifact(tiny_artifact), {"device": "cpu"})
    metrics = compute_metrics(result.returns, result.trades, result.exposure, 252.0)
    for column in ("strategy", "benchmark"):
        assert annualised_sharpe(result.returns[column], 252.0) == pytest.approx(
            metrics[column]["sharpe"], rel=1e-9)
    assert annualised_sharpe(pd.Series([0.0] * 10), 252.0) == 0.0
    assert math.isfinite(annualised_sharpe(pd.Series([0.01, -0.01, 0.02]), 252.0))


def test_verdict_names_the_first_failed_precondition():
    clean = audit_core.CausalityResult(["2001-01-02"], 0.0)
    leak = audit_core.CausalityResult(["2001-01-02"], 0.1)
    oos = audit_core.OverlapResult("2000-01-03", "2005-12-30", False, 0)
    ins = audit_core.OverlapResult("2000-01-03", "2005-12-30", True, 40)
    good = audit_core.BacktestSummary(2.0, 0.5, 0.99, 0.3, 0.1, 10, 0.5)
    idle = audit_core.BacktestSummary(0.0, 0.5, None, 0.0, 0.1, 0, 0.0)
    win = SurrogateResult("block", 19, 0, 5.0, [0.1] * 19, 2.0)
    lose = SurrogateResult("block", 19, 0, 5.0, [3.0] * 19, 2.0)
    v = audit_core.verdict
    assert v(leak, ins, good, win).startswith("LOOK-AHEAD")
    assert v(clean, ins, good, win).startswith("IN-SAMPLE")
    assert v(clean, oos, idle, win).startswith("NO TRADES")
    assert v(clean, oos, good, None).startswith("NOT TESTED")
    few = SurrogateResult("block", 18, 0, 5.0, [0.1] * 18, 2.0)
    assert v(clean, oos, good, few).startswith("NOT TESTED")
    assert v(clean, oos, good, win).startswith("EDGE")
    assert v(clean, oos, good, lose).startswith("NO EVIDENCE")
