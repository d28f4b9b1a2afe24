"""A paper session's plan line, and the finished session -> metrics (with its ``paper`` block)
and backtest.py's report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.data import infer_timeframe
from bt_attention_lstm.reports.backtest_metrics import warn_if_in_sample
from bt_attention_lstm.runners.research.paper.session import PaperSession
from bt_attention_lstm.runners.research.reporting import build_metrics, write_report

logger = logging.getLogger(__name__)


def paper_plan_line(df: pd.DataFrame, backfill: int) -> str:
    """What the session will do, in one line: the backfill, then the live bars."""
    return (
        f"plan: replay {Path(str(df.attrs.get('source', 'data'))).name} through a live-like "
        f"feed: {backfill} bars of backfill from {df.index[0].date()} (DELAYED, no orders), "
        f"then {len(df) - backfill} LIVE bars from {df.index[backfill].date()} on"
    )


def write_paper_report(
    out: Path,
    session: PaperSession,
    artifact: Artifact,
    df: pd.DataFrame,
    backfill: int,
    threshold: float,
    periods_per_year: float,
    html: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """Write the live part's report into ``out`` atomically; returns (path, metrics)."""
    metrics = build_metrics(session.result, artifact, periods_per_year, infer_timeframe(df.index))
    metrics["paper"] = {
        "live_start": str(session.live_start),
        "backfill_bars": backfill,
        "orders_on_backfill": session.backfill_orders,
        "rss_kb_per_bar": session.rss_kb_per_bar,
    }
    warn_if_in_sample(metrics, artifact, what="live")
    title = (
        f"AttentionLSTM paper session on {Path(str(df.attrs.get('source', 'data'))).name} "
        f"{metrics['period']['start']}..{metrics['period']['end']} "
        f"(model {artifact.weights_sha256[:8]})"
    )
    path = write_report(out, session.result, metrics, threshold, periods_per_year, title, html=html)
    return path, metrics
