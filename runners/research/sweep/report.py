"""A sweep's results -> trials.csv and best.json (with the deflated Sharpe ratio), atomically."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.errors import TrainingError
from bt_attention_lstm.reports import (
    deflated_sharpe_ratio,
    dumps_strict,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)
from bt_attention_lstm.runners.research.sweep.space import PARAMS
from bt_attention_lstm.runners.research.sweep.trial import TrialRecord

TRIAL_COLUMNS = (
    "trial_id",
    *PARAMS,
    "oos_sharpe",
    "oos_sharpe_per_period",
    "val_loss",
    "n_trades",
    "folds_completed",
    "status",
)

DSR_NOTE = (
    "The deflated Sharpe ratio (Bailey and Lopez de Prado, 2014) is the probability that the "
    "best trial's true Sharpe ratio beats the highest Sharpe ratio that n_trials configurations "
    "without any skill would be expected to reach by luck, given the length, skewness and "
    "kurtosis of its out-of-sample returns; near 1 the edge survives the search, below about "
    "0.95 it may be an artefact of trying many configurations."
)


def trials_table(records: list[TrialRecord]) -> pd.DataFrame:
    rows = []
    for r in records:
        s = r.score
        rows.append(
            {
                "trial_id": r.trial_id,
                **{k: r.params.get(k) for k in PARAMS},
                "oos_sharpe": s.oos_sharpe if s else None,
                "oos_sharpe_per_period": s.oos_sharpe_per_period if s else None,
                "val_loss": s.val_loss if s else None,
                "n_trades": s.n_trades if s else None,
                "folds_completed": s.folds_completed if s else 0,
                "status": r.status,
            }
        )
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def choose_best(records: list[TrialRecord], n_folds: int) -> TrialRecord:
    """The highest out-of-sample Sharpe among trials that traded every fold."""
    complete = [
        (r, r.score)
        for r in records
        if r.status == "completed" and r.score and r.score.folds_completed == n_folds
    ]
    if not complete:
        first_error = next((r.status for r in records if r.status.startswith("error")), "")
        raise TrainingError(f"no trial completed every fold {first_error}".strip())
    return max(complete, key=lambda pair: pair[1].oos_sharpe_per_period or 0.0)[0]


def trial_sharpes(records: list[TrialRecord]) -> list[float]:
    """Per-period Sharpe of every scored trial (stopped ones too: they were tried).

    A trial that never traded has flat returns and an undefined Sharpe ratio: it counts as 0.
    """
    return [
        r.score.oos_sharpe_per_period or 0.0 for r in records if r.score is not None
    ]


def best_summary(
    records: list[TrialRecord], n_folds: int, context: dict[str, Any]
) -> dict[str, Any]:
    best = choose_best(records, n_folds)
    assert best.score is not None
    sharpes = trial_sharpes(records)
    returns = best.score.returns
    psr = probabilistic_sharpe_ratio(returns)
    dsr = deflated_sharpe_ratio(returns, sharpes)
    return {
        "best_trial": best.trial_id,
        "config": best.params,
        "oos_sharpe": best.score.oos_sharpe,
        "oos_sharpe_per_period": best.score.oos_sharpe_per_period,
        "psr": _finite(psr),
        "deflated_sharpe_ratio": _finite(dsr),
        "expected_max_sharpe_per_period": expected_max_sharpe(sharpes),
        "n_trials": len(sharpes),
        "n_failed": sum(1 for r in records if r.score is None),
        "trial_sharpes_per_period": sharpes,
        "oos_bars": int(len(returns)),
        "oos_start": _day(returns.index[0]) if len(returns) else None,
        "oos_end": _day(returns.index[-1]) if len(returns) else None,
        "n_trades": best.score.n_trades,
        "val_loss": best.score.val_loss,
        **context,
        "note": DSR_NOTE,
    }


def _day(ts: pd.Timestamp) -> str:
    return str(ts.date()) if ts == ts.normalize() else str(ts)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def write_sweep_report(out: Path, trials: pd.DataFrame, best: dict[str, Any]) -> Path:
    """trials.csv and best.json into a temporary sibling, then renamed to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-sweep-"))
    try:
        trials.to_csv(tmp / "trials.csv", index=False)
        (tmp / "best.json").write_text(dumps_strict(best), encoding="utf-8")
        os.chmod(tmp, 0o755)  # noqa: S103 - a report directory, like reports.writer's
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
