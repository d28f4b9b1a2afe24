"""Checks that a backtrader run is one our indicators can compute correctly."""

from __future__ import annotations

from typing import Any

from bt_attention_lstm.models.errors import ConfigError


def refuse_exactbars(indicator: Any) -> None:
    """Raise if the owning Cerebro trims buffers (``exactbars`` != 0).

    Trimmed buffers disable runonce and cut the history TA-Lib's unstable-period functions
    (RSI, ATR, ADX, MACD's EMAs) need, so features would silently differ from training.
    """
    owner = getattr(indicator, "_owner", None)
    while owner is not None and not hasattr(owner, "env"):
        owner = getattr(owner, "_owner", None)
    cerebro = getattr(owner, "env", None)
    exactbars = getattr(getattr(cerebro, "p", None), "exactbars", 0)
    if exactbars:
        raise ConfigError(
            f"exactbars={exactbars} is not supported: it trims the history TA-Lib's indicators "
            "need; run Cerebro with exactbars=0 (the default)"
        )
