"""FeatureVector (trading side, backtrader's own Yahoo feed) == compute_features (offline side,
the project's loader), bar for bar, in runonce, next and preload=False modes."""

from __future__ import annotations

from dataclasses import dataclass

import backtrader as bt
import numpy as np
import pytest

from bt_attention_lstm.indicators import FeatureVector, compute_features, warmup_bars
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.spec import FEATURE_NAMES
from tests.conftest import ORCL_PATH

MODES = {
    "runonce": ({}, {}),
    "next": ({}, {"runonce": False}),
    "preload_false": ({"preload": False}, {}),
}


@dataclass
class Run:
    lines: np.ndarray  # (n_bars, n_features), every bar of the feed
    dates: list
    first_next_len: int | None
    minperiod: int
    prenext_calls: int


class Collect(bt.Strategy):
    def __init__(self) -> None:
        self.fv = FeatureVector(self.data)
        self.first_next_len = None
        self.prenext_calls = 0
        self.nan_in_next = False

    def prenext(self) -> None:
        self.prenext_calls += 1

    def next(self) -> None:
        if self.first_next_len is None:
            self.first_next_len = len(self)
        if any(np.isnan(line[0]) for line in self.fv.lines):
            self.nan_in_next = True


def run_mode(mode: str) -> Run:
    cerebro_kw, run_kw = MODES[mode]
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kw)
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(ORCL_PATH)))
    cerebro.addstrategy(Collect)
    strat = cerebro.run(**run_kw)[0]
    assert not strat.nan_in_next, "a NaN feature reached next()"
    lines = np.column_stack([np.asarray(line.array, dtype=np.float64) for line in strat.fv.lines])
    dates = [bt.num2date(x).date() for x in strat.data.datetime.array]
    return Run(lines, dates, strat.first_next_len, strat.fv._minperiod, strat.prenext_calls)


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    return {mode: run_mode(mode) for mode in MODES}


@pytest.fixture(scope="module")
def offline(orcl_df) -> np.ndarray:
    return compute_features(orcl_df, names=FEATURE_NAMES).to_numpy()  # every line, not just inputs


def test_feed_and_loader_see_the_same_bars(runs, orcl_df):
    # Backtrader's YahooFinanceCSVData and models.data.load_ohlcv read the same file identically.
    for run in runs.values():
        assert run.dates == list(orcl_df.index.date)


@pytest.mark.parametrize("mode", list(MODES))
def test_lines_equal_compute_features_bar_for_bar(runs, offline, mode):
    run = runs[mode]
    assert run.lines.shape == offline.shape
    assert run.lines.dtype == np.float64
    w = warmup_bars()
    assert np.isnan(run.lines[:w]).all()
    assert np.isfinite(run.lines[w:]).all()
    err = np.abs(run.lines[w:] - offline[w:]).max(axis=0)
    bad = {n: float(e) for n, e in zip(FEATURE_NAMES, err, strict=True) if e > 1e-9}
    assert not bad, f"{mode}: FeatureVector differs from compute_features: {bad}"


def test_line_names_are_the_feature_names():
    assert tuple(FeatureVector.lines.getlinealiases()) == FEATURE_NAMES


@pytest.mark.parametrize("mode", list(MODES))
def test_minperiod_is_warmup_plus_one(runs, mode):
    run = runs[mode]
    assert run.minperiod == warmup_bars() + 1
    assert run.first_next_len == warmup_bars() + 1
    assert run.prenext_calls == warmup_bars()


@pytest.mark.parametrize("where", ["cerebro", "run"])
def test_exactbars_is_refused_with_a_clear_error(where):
    cerebro = bt.Cerebro(stdstats=False, **({"exactbars": 1} if where == "cerebro" else {}))
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(ORCL_PATH)))
    cerebro.addstrategy(Collect)
    with pytest.raises(ConfigError, match="exactbars"):
        cerebro.run(**({"exactbars": 1} if where == "run" else {}))
