"""advance_lines (FeatureVector's and ModelSignal's runonce step) moves the lines exactly as
backtrader's own ``Indicator.advance``: the same lengths and values on every bar of a runonce
backtest, for a feed and for one that starts later (whose indicators wait while the strategy's
clock runs on)."""

from __future__ import annotations

from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from backtrader.linebuffer import LineBuffer

from bt_attention_lstm.indicators import FeatureVector, ModelSignal
from bt_attention_lstm.indicators.line_advance import advance_lines
from bt_attention_lstm.runners.research.cerebro import pandas_feed


class BacktraderAdvance(FeatureVector):
    """FeatureVector stepped by backtrader's ``Indicator.advance`` (the reference)."""

    def advance(self, size: int = 1) -> None:
        bt.Indicator.advance(self, size)


class SignalBacktraderAdvance(ModelSignal):
    def advance(self, size: int = 1) -> None:
        bt.Indicator.advance(self, size)


class Record(bt.Strategy):
    params = (("features", FeatureVector), ("signal", ModelSignal), ("artifact", None))

    def __init__(self) -> None:
        self.indicators = []
        for data in self.datas:
            features = self.p.features(data)
            signal = self.p.signal(data, model_path=self.p.artifact, device="cpu",
                                   features=features)
            self.indicators += [features, signal]
        self.rows: list[list[float]] = []

    def prenext(self) -> None:
        self.next()

    def next(self) -> None:
        row: list[float] = []
        for indicator in self.indicators:
            n = len(indicator)
            row.append(float(n))
            row += [float(line[0]) if n else np.nan for line in indicator.lines]
        self.rows.append(row)


def recorded(df: pd.DataFrame, artifact: Path, reference: bool) -> np.ndarray:
    cerebro = bt.Cerebro(stdstats=False, runonce=True)  # (resampling would turn runonce off)
    cerebro.adddata(pandas_feed(df))
    cerebro.adddata(pandas_feed(df.iloc[250:]))
    if reference:
        cerebro.addstrategy(Record, features=BacktraderAdvance, signal=SignalBacktraderAdvance,
                            artifact=str(artifact))
    else:
        cerebro.addstrategy(Record, artifact=str(artifact))
    return np.asarray(cerebro.run()[0].rows)


def test_lines_move_as_backtraders_own_advance(orcl_df: pd.DataFrame,
                                               tiny_artifact: Path) -> None:
    df = orcl_df.iloc[:700]
    ours, reference = recorded(df, tiny_artifact, False), recorded(df, tiny_artifact, True)
    assert ours.shape == reference.shape and ours.shape[0] == len(df)
    np.testing.assert_array_equal(ours, reference)  # NaN where NaN, lengths included
    # the later feed's indicators really waited: 250 bars behind the first feed's
    later = ours.shape[1] // 2  # the later feed's FeatureVector length (after the first's)
    assert ours[-1, 0] - ours[-1, later] == 250
    assert np.isfinite(ours[-1]).all()


def test_falls_back_to_each_buffers_advance_on_a_trimmed_buffer() -> None:
    class Probe(bt.Indicator):
        lines = ("a", "b")

        def next(self) -> None:
            self.lines.a[0] = self.lines.b[0] = 1.0

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=pd.DataFrame(
        {"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0},
        index=pd.date_range("2020-01-01", periods=5))))

    class Holder(bt.Strategy):
        def __init__(self) -> None:
            self.probe = Probe(self.data)

    cerebro.addstrategy(Holder)
    strategy = cerebro.run(runonce=False)[0]
    probe = strategy.probe
    calls: list[int] = []
    for line in probe.lines:
        line.mode = LineBuffer.QBuffer  # as qbuffer() leaves them
        line.advance = lambda size=1, calls=calls: calls.append(size)  # type: ignore[method-assign]
    probe._clock = type("Clock", (), {"__len__": lambda self: 10**6})()
    advance_lines(probe, 1)
    assert calls == [1, 1]


if __name__ == "__main__":
    pytest.main([__file__])
