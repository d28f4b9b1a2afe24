"""What ``bt-lstm train`` prints: its plan line, the nested CV table and the next command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from bt_attention_lstm.models.config import ModelConfig, TrainConfig
    from bt_attention_lstm.models.training.classifier import TrainingResult
    from bt_attention_lstm.models.training.position import PositionTrainingResult
    from bt_attention_lstm.runners.research.training import TrainResult


def fold_table_lines(result: TrainingResult | PositionTrainingResult) -> list[str]:
    """The nested CV table (model and baselines), the WARNING verdict, and the final model."""
    from bt_attention_lstm.models.training.cv_report import (
        cv_table_lines,
        warning_lines,
    )

    summary = result.cv_summary()
    lines = ["", *cv_table_lines(summary), *warning_lines(summary)]
    k = len(result.members)
    if summary.get("objective") == "sharpe":
        members = f"{k} members, positions averaged; " if k > 1 else ""
        fitted = summary.get("final_training_sharpe") or []
        on_own = (f"; Sharpe on its training bars {', '.join(f'{x:.2f}' for x in fitted)}"
                  if fitted else "")
        lines.append(
            f"final model: a position head, {members}trained on every window for "
            f"{result.final_epochs} epoch(s) (median of the inner choices){on_own}"
        )
        return lines
    members = f"{k} members, probabilities averaged; " if k > 1 else ""
    calibration = "/".join(sorted(set(summary["final_calibration"])))
    lines.append(
        f"final model: {members}trained on every window for {result.final_epochs} epoch(s) "
        f"(median of the inner choices); calibration ({calibration}) fitted on the folds' "
        "out-of-fold logits"
    )
    return lines


def plan_line(
    frames: list[pd.DataFrame], model_config: ModelConfig, config: TrainConfig
) -> str:
    """What train is about to do, in one line."""
    names = ", ".join(Path(str(df.attrs.get("source", "data"))).name for df in frames[:3])
    names += f" and {len(frames) - 3} more" if len(frames) > 3 else ""
    bars = sum(len(df) for df in frames)
    start = min(df.index[0] for df in frames).date()
    end = max(df.index[-1] for df in frames).date()
    return (
        f"plan: train an AttentionLSTM ({config.objective} objective; hidden "
        f"{model_config.hidden} x {model_config.layers} layers, {model_config.seq_len}-bar "
        f"windows) on {bars} bars of {names} ({start} .. {end}): {config.folds} cross-validation "
        f"folds beside the baselines, then the final fit, each up to {config.epochs} epochs with "
        "early stopping"
    )


def data_flags(symbol: str | None, sources: list[str] | None) -> str:
    """The data flags to repeat to backtest a model trained on one source."""
    if symbol:
        return f" --symbol {symbol}"
    if sources:
        return f" --data {sources[0]}" if len(sources) == 1 else " --data FILE"
    return ""


def print_trained(result: TrainResult, symbol: str | None, data_given: bool) -> None:
    """What train prints once the artifact is written: the CV table, its path, the next step."""
    print("\n".join(fold_table_lines(result.training)))
    print(f"artifact: {result.out}")
    flags = data_flags(symbol, result.sources if data_given else None)
    print(f"backtest it on bars after {result.end.date()}: bt-lstm backtest --model "
          f"{result.out}{flags} --start YYYY-MM-DD")
