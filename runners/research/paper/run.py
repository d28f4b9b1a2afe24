"""A paper-trading rehearsal as one call: ``run_paper(PaperConfig) -> PaperResult``.

The bars are replayed through a live-like feed: DELAYED for a backfill of ``backfill`` bars from
the first one on (features and the model warm up, no orders; by default as many as the model
needs to warm up and settle), then LIVE, one bar at a time, with every live safeguard on (orders
only on LIVE bars, the decision log, the state file). ``out`` gets backtest.py's report for the
live bars, and the state file and decision log unless they are given elsewhere.
``plan_paper`` checks everything and loads the data and model; ``execute_paper`` runs a plan.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.data import infer_periods_per_year
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.inputs import (
    check_data_kind,
    check_timeframe,
    load_frames,
    prepare_out_dir,
    require_bars,
)
from bt_attention_lstm.runners.research.paper.report import paper_plan_line, write_paper_report
from bt_attention_lstm.runners.research.paper.session import (
    PaperSession,
    SessionSettings,
    check_session,
    needed_backfill,
    replay_session,
)
from bt_attention_lstm.strategies.config import entry_threshold

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
DECISION_LOG = "decisions.jsonl"


@dataclass(frozen=True)
class PaperConfig:
    """One paper session: the bars and the model, the strategy and the paper account, the
    replay (``backfill`` None: what the model needs; ``speed`` live bars per second, 0: as fast
    as the strategy runs) and its files (None: state.json / decisions.jsonl in ``out``)."""

    model: str | Path  # an artifact directory from train
    data: str | None = None  # a file, sample:FILE or FILE#SYMBOL; None: the synthetic market
    format: str = "auto"  # noqa: A003 - the loaders' name for it
    symbol: str | None = None
    start: str | None = None  # the backfill starts here, the live part after it
    end: str | None = None
    timeframe: str | None = None
    allow_timeframe_mismatch: bool = False
    strategy_params: Mapping[str, Any] = field(default_factory=dict)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    backfill: int | None = None
    speed: float = 0.0
    state_path: Path | None = None
    decision_log: Path | None = None
    out: Path | None = None
    html: bool = True


@dataclass
class PaperPlan:
    """A checked session, ready to run: its bars, model and backfill."""

    config: PaperConfig
    bars: pd.DataFrame
    artifact: Artifact
    backfill: int
    periods_per_year: float
    out: Path

    def describe(self) -> str:
        """The session in one line: the backfill, then the live bars."""
        return paper_plan_line(self.bars, self.backfill)


@dataclass
class PaperResult:
    out: Path  # the report folder (the live part)
    metrics: dict[str, Any]  # metrics.json's content, with its ``paper`` block
    session: PaperSession
    backfill: int
    state_path: Path
    decision_log: Path

    @property
    def live_start(self) -> pd.Timestamp:
        return self.session.live_start


def plan_paper(config: PaperConfig) -> PaperPlan:
    """Load the bars and the model and check that they fit the session; nothing runs yet."""
    out = prepare_out_dir(config.out, command="paper")
    bars = load_frames(config.data, format=config.format, symbol=config.symbol,
                       start=config.start, end=config.end, timeframe=config.timeframe)[0]
    artifact = load_artifact(config.model)
    check_timeframe(artifact.meta, bars, config.allow_timeframe_mismatch)
    check_data_kind(artifact, bars)
    backfill = needed_backfill(artifact) if config.backfill is None else config.backfill
    check_session(bars, SessionSettings(backfill, config.speed))
    bars = require_bars(bars, backfill + 2, "`backfill` + two live bars")
    return PaperPlan(config, bars, artifact, backfill, infer_periods_per_year(bars.index), out)


def execute_paper(plan: PaperPlan) -> PaperResult:
    """Replay the session and write the live part's report. A state file or decision log not
    given elsewhere is written into a hidden sibling while the session runs, and moved into the
    report folder with it."""
    config, out = plan.config, plan.out
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".paper-", dir=out.parent))
    try:
        settings = SessionSettings(
            backfill=plan.backfill,
            speed=config.speed,
            state_path=config.state_path or scratch / STATE_FILE,
            decision_log=config.decision_log or scratch / DECISION_LOG,
        )
        params = {**config.strategy_params, "periods_per_year": plan.periods_per_year}
        session = replay_session(plan.bars, plan.artifact, params, config.broker, settings)
        threshold = entry_threshold(
            plan.artifact, params.get("threshold"), params.get("sizing")
        )
        path, metrics = write_paper_report(
            out, session, plan.artifact, plan.bars, plan.backfill, threshold,
            plan.periods_per_year, html=config.html,
        )
        for name in (STATE_FILE, DECISION_LOG):
            if (scratch / name).exists():
                shutil.move(scratch / name, path / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return PaperResult(
        path, metrics, session, plan.backfill,
        config.state_path or path / STATE_FILE, config.decision_log or path / DECISION_LOG,
    )


def run_paper(config: PaperConfig) -> PaperResult:
    """Plan (check everything), then replay the session and write its report."""
    return execute_paper(plan_paper(config))
