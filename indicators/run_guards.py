"""Checks that a backtrader run is one our indicators can compute correctly.

They run in the indicators' ``__init__``, before the first bar. Cerebro has already started the
feeds by then (a live feed may hold a connection), so a refusal stops them before raising.
"""

from __future__ import annotations

import logging
from typing import Any

from backtrader.linebuffer import LineBuffer

from bt_attention_lstm.models.errors import ConfigError

logger = logging.getLogger(__name__)


def _cerebro(indicator: Any) -> Any:
    owner = getattr(indicator, "_owner", None)
    while owner is not None and not hasattr(owner, "env"):
        owner = getattr(owner, "_owner", None)
    return getattr(owner, "env", None)


def _refuse(indicator: Any, message: str) -> None:
    """Stop the feeds and stores Cerebro started (live connections included), then raise."""
    cerebro = _cerebro(indicator)
    for feed in [*getattr(cerebro, "datas", []), *getattr(cerebro, "stores", [])]:
        try:
            feed.stop()
        except Exception as exc:  # noqa: BLE001 - the refusal below is the error to report
            logger.debug("stopping %s after a refusal failed: %s", feed, exc)
    raise ConfigError(message)


def refuse_exactbars(indicator: Any) -> None:
    """Raise if the run trims buffers: Cerebro's ``exactbars`` != 0, or ``data.qbuffer()``.

    Trimmed buffers disable runonce and cut the history TA-Lib's unstable-period functions
    (RSI, ATR, ADX, MACD's EMAs) need, so features would silently differ from training (and
    ``qbuffer`` makes backtrader itself fail a few dozen bars in).
    """
    cerebro = _cerebro(indicator)
    exactbars = getattr(getattr(cerebro, "p", None), "exactbars", 0)
    if exactbars:
        _refuse(
            indicator,
            f"exactbars={exactbars} is not supported: it trims the history TA-Lib's indicators "
            "need; run Cerebro with exactbars=0 (the default)",
        )
    data = getattr(indicator, "data", None)
    if data is not None and any(
        getattr(line, "mode", LineBuffer.UnBounded) == LineBuffer.QBuffer for line in data.lines
    ):
        _refuse(
            indicator,
            f"{getattr(data, '_name', '') or 'the feed'}: qbuffer() is not supported: it trims "
            "the history TA-Lib's indicators need; memory grows by well under 1 KB per bar "
            "without it (see the README, live trading)",
        )


def refuse_replay(indicator: Any) -> None:
    """Raise for a ``replaydata`` feed: the model must see completed bars only.

    Replay delivers each bar many times as it forms; the signal would be computed from the
    bar's first tick and frozen (measured: confidence off by up to 0.29, 26 trades instead of 35).
    """
    data = getattr(indicator, "data", None)
    if data is not None and getattr(data, "replaying", False):
        _refuse(
            indicator,
            f"{getattr(data, '_name', '') or 'the feed'} comes from cerebro.replaydata, which "
            "delivers each bar many times while it forms; the model needs completed bars: use "
            "cerebro.resampledata (it delivers each bar once, when it is complete)",
        )
