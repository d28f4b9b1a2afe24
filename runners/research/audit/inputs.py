"""The bars an audit trades, loaded and checked against the model before any work."""

from __future__ import annotations

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.data import select_range
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.runners.research.audit.config import AuditConfig
from bt_attention_lstm.runners.research.inputs import (
    check_data_kind,
    check_timeframe,
    load_frames,
    require_bars,
)

MIN_TRADED_BARS = 20


def audit_data(config: AuditConfig, artifact: Artifact) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The series up to ``end`` (bars before ``start`` stay: they warm the model up), checked
    against the model, and its first traded bar."""
    df = load_frames(config.data, format=config.format, symbol=config.symbol, end=config.end,
                     timeframe=config.timeframe)[0]
    check_timeframe(artifact.meta, df, config.allow_timeframe_mismatch)
    check_data_kind(artifact, df)
    traded = select_range(df, config.start, None) if config.start else df
    needed = warmup_bars(artifact.feature_spec) + artifact.seq_len + 1
    df = require_bars(df, needed, "feature warm-up + sequence length + bars to trade")
    if len(traded) < MIN_TRADED_BARS:
        raise DataError(
            f"only {len(traded)} bars to trade from {traded.index[0]}; the audit needs at least "
            f"{MIN_TRADED_BARS}"
        )
    return df, traded.index[0]
