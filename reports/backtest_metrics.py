"""metrics.json of a backtest: performance (``compute_metrics``), period, model, in-sample flag
and backtrader's own figures. Shared by ``run_backtest``, walk-forward, the paper session and
``report_from_strategy``, so every report has the same schema.

The model is read duck-typed (``path``, ``weights_sha256``, ``trained_range``), as an artifact
of ``models.artifact`` offers them: this module imports no torch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import pandas as pd

from bt_attention_lstm.models.data.timefmt import bar_time
from bt_attention_lstm.reports.metrics import compute_metrics

logger = logging.getLogger(__name__)


class ModelInfo(Protocol):
    @property
    def path(self) -> Any: ...

    @property
    def weights_sha256(self) -> str: ...

    @property
    def trained_range(self) -> tuple[str, str]: ...


def period_block(
    index: pd.DatetimeIndex, timeframe: str, periods_per_year: float
) -> dict[str, Any]:
    """metrics.json's "period": the traded bars' range, count and frequency."""
    return {
        "start": bar_time(index[0]),
        "end": bar_time(index[-1]),
        "bars": int(len(index)),
        "timeframe": timeframe,
        "periods_per_year": float(periods_per_year),
    }


def in_sample(artifact: ModelInfo, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """Whether [start, end] overlaps the range the model was trained on."""
    t_start, t_end = artifact.trained_range
    try:
        trained_start, trained_end = pd.Timestamp(t_start), pd.Timestamp(t_end)
    except ValueError:
        return True  # unknown training range: do not claim out-of-sample
    if trained_end == trained_end.normalize():
        trained_end = trained_end + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return bool(start <= trained_end and end >= trained_start)


def warn_if_in_sample(
    metrics: Mapping[str, Any], artifact: ModelInfo, what: str = "backtest"
) -> bool:
    """Log a WARNING when ``metrics`` (a metrics.json content) says its bars overlap the model's
    training range; ``what`` names the range ("backtest", "live"). Returns the flag."""
    flagged = bool(metrics.get("in_sample"))
    if flagged:
        logger.warning(
            "the %s range overlaps the model's training range (%s .. %s): these results are "
            "IN-SAMPLE and overstate what the model can do",
            what,
            *artifact.trained_range,
        )
    return flagged


def backtest_metrics(
    returns: pd.DataFrame,
    trades: pd.DataFrame,
    exposure: float,
    periods_per_year: float,
    timeframe: str,
    artifact: ModelInfo,
    *,
    final_value: float,
    max_drawdown: float,
    open_orders: int,
) -> dict[str, Any]:
    """The whole metrics.json content; ``max_drawdown`` is backtrader's, as a fraction <= 0."""
    metrics: dict[str, Any] = dict(compute_metrics(returns, trades, exposure, periods_per_year))
    index = returns.index
    t_start, t_end = artifact.trained_range
    metrics["period"] = period_block(index, timeframe, periods_per_year)
    metrics["model"] = {
        "path": str(artifact.path),
        "sha256": artifact.weights_sha256,
        "trained_start": t_start,
        "trained_end": t_end,
    }
    metrics["in_sample"] = in_sample(artifact, index[0], index[-1])
    metrics["backtrader"] = {
        "final_value": final_value,
        "max_drawdown": max_drawdown,
        "open_orders_at_end": open_orders,
    }
    return metrics
