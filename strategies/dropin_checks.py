"""Warnings for a strategy dropped into someone else's Cerebro.

Inside the runners these cases are refused up front; in a user's own script backtrader runs
them without a word. Each check logs one WARNING naming the feed and what to change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import backtrader as bt
import pandas as pd

from bt_attention_lstm.models.data import infer_timeframe, timeframe_mismatch
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.strategies.execution.feed_roles import feed_name

logger = logging.getLogger(__name__)

# Enough bars to see the usual spacing through weekends and holidays.
_SPACING_SAMPLE = 500

INACTIVE_WITH_USER_SIZER = (
    "max_position, sizing, target_vol, min_scale, the regime filter and the equal-risk split"
)



def feed_timeframe(data: bt.DataBase) -> str | None:
    """Bar size of the bars the feed has delivered so far ("1d", "5min", ...), None if unknown.

    Read from the bars' own timestamps: a feed's declared ``timeframe`` defaults to days
    whatever its file holds.
    """
    size = min(len(data), _SPACING_SAMPLE)
    if size < 2:
        return None
    stamps = pd.DatetimeIndex([bt.num2date(x) for x in data.datetime.get(size=size)])
    try:
        return infer_timeframe(stamps)
    except DataError:
        return None


def warn_timeframe(data: bt.DataBase, meta: Mapping[str, Any]) -> bool:
    """WARNING when the feed's bar size differs from the model's; True when it differs."""
    timeframe = feed_timeframe(data)
    problem = timeframe_mismatch(meta, timeframe) if timeframe else None
    if problem:
        logger.warning(
            "%s: %s; its probabilities are not what it was trained to give (resample the "
            "feed, or train a model on %s bars)",
            feed_name(data),
            problem,
            timeframe,
        )
    return problem is not None


def warn_user_sizer(sizer: bt.Sizer, own: type[bt.Sizer]) -> bool:
    """WARNING when ``cerebro.addsizer`` replaced the strategy's own sizer; True if it did."""
    if isinstance(sizer, own):
        return False
    logger.warning(
        "a sizer of your own (%s) is set: AttentionLSTMStrategy's %s are inactive; entries are "
        "sized by your sizer (drop cerebro.addsizer to use the plugin's sizing)",
        type(sizer).__name__,
        INACTIVE_WITH_USER_SIZER,
    )
    return True


def warn_short_feed(data: bt.DataBase, needed: int, warmup: int, seq_len: int) -> bool:
    """WARNING when the feed ended before the model's first signal; True if it did."""
    if len(data) >= needed:
        return False
    logger.warning(
        "%s: only %d bars; the model needs %d (feature warm-up %d + seq_len %d) before its "
        "first signal, so this feed was never traded",
        feed_name(data),
        len(data),
        needed,
        warmup,
        seq_len,
    )
    return True
