"""What ``bt-lstm walkforward`` and ``bt-lstm sweep`` print: the folds, the trials, the best."""

from __future__ import annotations

from typing import Any

import pandas as pd


def fold_lines(folds: pd.DataFrame) -> list[str]:
    """One row per walk-forward fold: ranges, validation loss, out-of-sample Sharpe, return."""
    lines = [
        "",
        f"{'fold':>4} {'train':>23} {'test':>23} {'val loss':>8} {'sharpe':>7} {'return':>8} "
        f"{'trades':>6}",
    ]
    for row in folds.itertuples(index=False):
        sharpe = "n/a" if pd.isna(row.oos_sharpe) else f"{row.oos_sharpe:.2f}"
        val = "n/a" if pd.isna(row.val_loss) else f"{row.val_loss:.4f}"
        lines.append(
            f"{row.fold:>4} {row.train_start + '..' + row.train_end:>23} "
            f"{row.test_start + '..' + row.test_end:>23} {val:>8} {sharpe:>7} "
            f"{row.oos_return:>8.2%} {row.n_trades:>6}"
        )
    return lines


def sweep_result_lines(trials: pd.DataFrame, best: dict[str, Any]) -> list[str]:
    """The trials table, then the best configuration with its (deflated) Sharpe ratio."""
    sharpe, dsr = best["oos_sharpe"], best["deflated_sharpe_ratio"]
    return [
        "",
        trials.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        "",
        f"best: {best['best_trial']} {best['config']}",
        f"out-of-sample Sharpe {'n/a' if sharpe is None else f'{sharpe:.2f}'} (annualised), "
        f"deflated Sharpe ratio {'n/a' if dsr is None else f'{dsr:.3f}'} over "
        f"{best['n_trials']} trial(s)",
    ]
