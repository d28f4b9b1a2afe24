"""The chart's trade markers sit on the price line at the trades' times."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bt_attention_lstm.reports.chart import price_at, price_panel


def test_markers_mark_when_a_trade_began_and_ended_on_the_price_line() -> None:
    index = pd.date_range("2020-01-01", periods=10, freq="D")
    price = pd.Series(np.arange(100.0, 110.0), index=index)
    # Averages over adds and reductions: far from the price on the entry and exit days.
    trades = pd.DataFrame({
        "entry_time": [index[1], index[5]],
        "exit_time": [index[3], None],
        "side": ["long", "short"],
        "entry_price": [500.0, 1.0],
        "exit_price": [7.0, np.nan],
    })
    ax = Figure().subplots()
    price_panel(ax, price, trades)
    ys = {c.get_label(): c.get_offsets()[:, 1].tolist() for c in ax.collections}
    assert ys == {"long entry": [101.0], "short entry": [105.0], "exit": [103.0]}


def test_price_at_takes_the_last_bar_at_or_before_each_time() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="D")
    price = pd.Series([1.0, 2.0, 3.0], index=index)
    times = pd.Series([index[0], index[1] + pd.Timedelta(hours=23, minutes=59), index[2]])
    np.testing.assert_array_equal(price_at(price, times), [1.0, 2.0, 3.0])


def test_price_at_reads_naive_trade_times_against_a_zoned_price_index() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="D", tz="America/New_York")
    price = pd.Series([1.0, 2.0, 3.0], index=index)
    times = pd.Series([pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")])
    np.testing.assert_array_equal(price_at(price, times), [2.0, 3.0])
