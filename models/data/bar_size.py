"""Bar-size checks: a model only knows the bar size it was trained on.

A daily model's features (20-bar volatility, 50-bar trend, a 5-bar label horizon) mean
something else on weekly or 5-minute bars, and the model says nothing about it: the check
compares ``meta.json``'s ``training.timeframe`` with the data's (``models.data.infer_timeframe``
labels such as "1d", "5min", "1w").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bt_attention_lstm.models.data import infer_timeframe
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)


def trained_timeframe(meta: Mapping[str, Any]) -> str | None:
    """The bar size recorded in an artifact's meta.json, or None when it was not recorded."""
    training = meta.get("training")
    timeframe = training.get("timeframe") if isinstance(training, Mapping) else None
    return str(timeframe) if timeframe else None


def bar_size_mismatch(meta: Mapping[str, Any], data_timeframe: str) -> str | None:
    """A sentence describing the mismatch, or None when the bar sizes agree (or are unknown)."""
    trained = trained_timeframe(meta)
    if trained is None or trained == data_timeframe:
        return None
    return f"the model was trained on {trained} bars but the data has {data_timeframe} bars"


def frame_timeframes(frames: Sequence[pd.DataFrame]) -> list[tuple[str, str]]:
    """(source, timeframe) of every frame; the source is ``df.attrs["source"]`` when known."""
    return [
        (str(df.attrs.get("source", f"data #{i + 1}")), infer_timeframe(df.index))
        for i, df in enumerate(frames)
    ]


def require_one_bar_size(frames: Sequence[pd.DataFrame]) -> str:
    """The common bar size of ``frames``; DataError naming each file's when they differ.

    One model learns one bar size: mixing 1-minute and daily files would train on neither.
    """
    labelled = frame_timeframes(frames)
    sizes = {timeframe for _, timeframe in labelled}
    if len(sizes) > 1:
        listing = ", ".join(f"{source}: {timeframe}" for source, timeframe in labelled)
        raise DataError(
            f"the data files have different bar sizes ({listing}); train one model per bar "
            "size, or resample them all with --timeframe"
        )
    return sizes.pop()
