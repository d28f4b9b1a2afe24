"""Which of a strategy's data feeds are traded, and which are context.

``cerebro.resampledata(daily, timeframe=bt.TimeFrame.Weeks)`` and ``replaydata`` add a second
view of a feed already in the Cerebro. Trading both would hold two positions in one asset and
count it twice in the equal-risk split, so by default such copies are context: the strategy
does not trade them (a subclass can still read them). ``trade_datas`` overrides the default.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import backtrader as bt

from bt_attention_lstm.models.errors import ConfigError

logger = logging.getLogger(__name__)


def _source(data: bt.DataBase) -> Any:
    """The feed a clone copies (``DataClone.data``), else the feed itself."""
    return data.data if isinstance(data, bt.DataClone) else data


def _reshapes(data: bt.DataBase) -> bool:
    """Whether the feed is resampled or replayed (backtrader's Resampler/Replayer filters)."""
    filters = (bt.resamplerfilter.Resampler, bt.resamplerfilter.Replayer)
    return any(isinstance(f, filters) for f, *_ in getattr(data, "_filters", ()))


def _same_file(a: bt.DataBase, b: bt.DataBase) -> bool:
    """Two feeds read from the same file name or the same pandas object."""
    x, y = a.p.dataname, b.p.dataname
    return x is y or (isinstance(x, str) and isinstance(y, str) and x == y)


def is_context_copy(data: bt.DataBase, datas: Sequence[bt.DataBase]) -> bool:
    """True for a resampled/replayed (or plainly cloned) copy of another feed in ``datas``."""
    others = [d for d in datas if d is not data]
    if isinstance(data, bt.DataClone):
        return any(_source(data) is d for d in others)
    # A second feed on the same file, resampled: the copy is the one with the filter.
    return _reshapes(data) and any(_same_file(data, d) and not _reshapes(d) for d in others)


def feed_name(data: bt.DataBase, index: int = 0) -> str:
    """A feed's name as the user gave it (``adddata(..., name=)``), else backtrader's
    ``data<index>``."""
    return data._name or f"data{index}"


def resolve_trade_datas(
    datas: Sequence[bt.DataBase], selection: Any = None
) -> list[bt.DataBase]:
    """The feeds to trade, in the strategy's data order.

    ``selection``: None (every feed that is not a context copy), or one or several feed names
    (``cerebro.adddata(feed, name=...)``), indices into the strategy's datas, or feed objects.
    """
    if selection is None:
        traded = []
        for i, d in enumerate(datas):
            if is_context_copy(d, datas):
                logger.info("%s is a resampled or replayed copy: context only", feed_name(d, i))
            else:
                traded.append(d)
        return traded
    items = [selection] if isinstance(selection, (str, int, bt.DataBase)) else selection
    if not isinstance(items, Iterable):
        raise ConfigError(f"trade_datas must be names, indices or feeds, got {selection!r}")
    chosen = {id(_pick(datas, item)) for item in items}
    if not chosen:
        raise ConfigError("trade_datas is empty: name at least one feed to trade")
    return [d for d in datas if id(d) in chosen]


def _pick(datas: Sequence[bt.DataBase], item: Any) -> bt.DataBase:
    names = [feed_name(d, i) for i, d in enumerate(datas)]
    if isinstance(item, bool):
        raise ConfigError(f"trade_datas: {item!r} is not a feed name or index")
    if isinstance(item, int):
        if not -len(datas) <= item < len(datas):
            raise ConfigError(f"trade_datas: index {item} is out of range ({len(datas)} feeds)")
        return datas[item]
    if isinstance(item, str):
        if item not in names:
            raise ConfigError(f"trade_datas: no feed named {item!r} (feeds: {', '.join(names)})")
        return datas[names.index(item)]
    for d in datas:
        if item is d:
            return d
    raise ConfigError(f"trade_datas: {item!r} is not one of the strategy's feeds")
