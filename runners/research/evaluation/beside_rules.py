"""The model beside the simple rules, as positions on the same bars, vol target and costs.

The model's position is what the strategy trades (``ModelSignal.confidence``: a position head's
position, or a classifier's edge over its base rate), long-only unless shorts are allowed; the
rules are ``models.portfolio.trading_rules``; every row is scaled by
``models.portfolio.vol_targeting`` and scored
by ``reports.rule_comparison`` (Sharpe with its standard error and PSR, turnover, cost
sensitivity, break-even cost, and the verdict line).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.inference.frame_predictions import predict_frame
from bt_attention_lstm.models.portfolio.vol_targeting import MAX_LEVERAGE, TARGET_VOL, VolTarget
from bt_attention_lstm.reports.rule_comparison import RuleComparison, compare_with_rules


def model_positions(df: pd.DataFrame, artifact: Artifact, allow_short: bool) -> pd.Series:
    """The position the strategy's signal gives at every bar (NaN during the warm-up)."""
    edge = predict_frame(df, artifact, device="cpu")["confidence"] - artifact.prior_confidence
    position = edge.clip(-1.0, 1.0)
    return position if allow_short else position.clip(lower=0.0)


def model_beside_rules(
    frames: Mapping[str, pd.DataFrame],
    artifact: Artifact,
    start: pd.Timestamp | Mapping[str, pd.Timestamp],
    *,
    allow_short: bool = False,
    cost: float = 0.001,
    periods_per_year: float = 252.0,
    target_vol: float = TARGET_VOL,
    max_leverage: float = MAX_LEVERAGE,
) -> RuleComparison:
    """Score the model and every rule per symbol and as an equal-weight portfolio from
    ``start`` on (the first out-of-sample bar)."""
    closes = {name: df["close"].astype(np.float64) for name, df in frames.items()}
    positions = {name: model_positions(df, artifact, allow_short) for name, df in frames.items()}
    vol = VolTarget(target_vol, max_leverage, periods_per_year)
    return compare_with_rules(closes, positions, start, vol_target=vol, cost=cost)
