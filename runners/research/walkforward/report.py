"""Writes a walk-forward report directory atomically: the backtest report files plus folds.csv
(and the folds' models when they are kept), all renamed into place at once."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.runners.research.reporting import write_report
from bt_attention_lstm.runners.research.walkforward.stitch import StitchedResult

logger = logging.getLogger(__name__)


def write_walkforward_report(
    out: Path,
    stitched: StitchedResult,
    metrics: dict[str, Any],
    folds: pd.DataFrame,
    threshold: float,
    periods_per_year: float,
    title: str,
    models_dir: Path | None = None,
    html: bool = True,
) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-wf-"))
    # The writer would announce the staging path; the report's real place is logged below.
    writer_log = logging.getLogger("bt_attention_lstm.reports.writer")
    previous_level = writer_log.level
    writer_log.setLevel(logging.WARNING)
    try:
        report = write_report(
            staging / "report", stitched, metrics, threshold, periods_per_year, title, html
        )
        folds.to_csv(report / "folds.csv", index=False)
        if models_dir is not None:
            shutil.move(str(models_dir), report / "models")
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        os.replace(report, out)
    finally:
        writer_log.setLevel(previous_level)
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("walk-forward report written to %s", out)
    return out
