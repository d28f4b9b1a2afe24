"""The nested cross-validation table as text: the AttentionLSTM beside the baselines, per fold and
on average, and the WARNING lines of its verdict. Read from a CV summary (``cv_summary()`` or
meta.json's ``cv``), so train.py, audit.py and evaluate.py print the same thing."""

from __future__ import annotations

from typing import Any

from bt_attention_lstm.models.nested_cv import MODEL_NAME, cv_warnings

LABELS = {MODEL_NAME: "attention-lstm", "prior": "prior", "logistic": "logistic",
          "boosting": "boosting"}
CELL = 17  # "  acc  log-loss" per model


def _cells(scores: dict[str, Any], models: list[str]) -> str:
    return "".join(
        f"{scores[m]['accuracy']:>7.3f}{scores[m]['log_loss']:>10.4f}" for m in models
    )


def cv_table_lines(cv: dict[str, Any]) -> list[str]:
    """The table of a CV summary; an empty list when it has none (an older artifact)."""
    table = cv.get("table")
    if not isinstance(table, dict) or not table.get("models"):
        return []
    models = list(table["models"])
    folds = cv.get("folds", [])
    left = f"{'fold':>4} {'train':>6} {'val':>5} {'validation range':<23} {'epoch':>5}"
    pad = " " * len(left)
    lines = [
        "nested cross-validation: each outer fold is scored once; the epoch and the "
        "calibration were chosen on an inner slice of its training fold",
        pad + "".join(f"{LABELS.get(m, m):>{CELL}}" for m in models),
        left + "".join(f"{'acc':>7}{'log-loss':>10}" for _ in models),
    ]
    for fold, scores in zip(folds, table["folds"], strict=False):
        span = f"{fold['val_start']}..{fold['val_end']}"
        lines.append(
            f"{fold['fold']:>4} {fold['train_windows']:>6} {fold['val_windows']:>5} "
            f"{span:<23} {fold['best_epoch']:>5}" + _cells(scores, models)
        )
    lines.append(f"{'mean':>4} {'':>6} {'':>5} {'':<23} {'':>5}" + _cells(table["mean"], models))
    return lines


def warning_lines(cv: dict[str, Any]) -> list[str]:
    return [f"WARNING: {w}" for w in cv_warnings(cv)]
