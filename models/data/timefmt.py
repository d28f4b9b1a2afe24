"""How a bar time is shown to people: daily bars as dates, intraday bars with their time."""

from __future__ import annotations

import pandas as pd


def bar_time(ts: pd.Timestamp | str) -> str:
    """'2014-03-17' for a midnight timestamp, '2006-01-02 09:35:00' otherwise."""
    stamp = pd.Timestamp(ts)
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


def bar_span(index: pd.DatetimeIndex) -> str:
    """'first .. last' of an index, each shown by ``bar_time``; 'no bars' when empty."""
    return f"{bar_time(index[0])} .. {bar_time(index[-1])}" if len(index) else "no bars"
