"""The nested cross-validation table as text: the AttentionLSTM beside the baselines, per fold and
on average, and the WARNING lines of its verdict. Read from a CV summary (``cv_summary()`` or
meta.json's ``cv``), so train.py, audit.py and evaluate.py print the same thing."""

from __future__ import annotations

from typing import Any

from bt_attention_lstm.models.training.nested_cv import MODEL_NAME
from bt_attention_lstm.models.training.nested_cv import cv_warnings as classifier_warnings
from bt_attention_lstm.models.training.position import position_cv_warnings

LABELS = {MODEL_NAME: "attention-lstm", "prior": "prior", "logistic": "logistic",
          "boosting": "boosting"}
CELL = 17  # "  acc  log-loss" per model
SHARPE_CELL = 16


def _cells(scores: dict[str, Any], models: list[str]) -> str:
    return "".join(
        f"{scores[m]['accuracy']:>7.3f}{scores[m]['log_loss']:>10.4f}" for m in models
    )


def is_sharpe_cv(cv: dict[str, Any]) -> bool:
    return cv.get("objective") == "sharpe"


def cv_warnings(cv: dict[str, Any]) -> list[str]:
    """The verdict lines of either objective's CV summary."""
    return position_cv_warnings(cv) if is_sharpe_cv(cv) else classifier_warnings(cv)


def sharpe_table_lines(cv: dict[str, Any]) -> list[str]:
    """The Sharpe objective's table: the model's portfolio Sharpe beside every rule's, per
    outer fold (same bars, vol target and costs) and on average."""
    table = cv["table"]
    models = list(table["models"])
    left = f"{'fold':>4} {'train':>6} {'val':>5} {'validation range':<23} {'epoch':>5}"
    lines = [
        "nested cross-validation: each outer fold is scored once (portfolio Sharpe after costs, "
        "vol-targeted); the epoch was chosen on an inner slice of its training fold",
        left + "".join(f"{LABELS.get(m, m):>{SHARPE_CELL}}" for m in models),
    ]
    for fold, scores in zip(cv.get("folds", []), table["folds"], strict=False):
        span = f"{fold['val_start']}..{fold['val_end']}"
        epoch = int(sorted(fold["chosen_epochs"])[len(fold["chosen_epochs"]) // 2])
        lines.append(
            f"{fold['fold']:>4} {fold['train_windows']:>6} {fold['val_windows']:>5} "
            f"{span:<23} {epoch:>5}"
            + "".join(f"{scores[m]['sharpe']:>{SHARPE_CELL}.2f}" for m in models)
        )
    lines.append(
        f"{'mean':>4} {'':>6} {'':>5} {'':<23} {'':>5}"
        + "".join(f"{table['mean'][m]['sharpe']:>{SHARPE_CELL}.2f}" for m in models)
    )
    return lines


def cv_table_lines(cv: dict[str, Any]) -> list[str]:
    """The table of a CV summary; an empty list when it has none (an older artifact)."""
    table = cv.get("table")
    if not isinstance(table, dict) or not table.get("models"):
        return []
    if is_sharpe_cv(cv):
        return sharpe_table_lines(cv)
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


def cv_check(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The training CV verdict of an artifact's meta.json, for audit.py: the mean log-loss of
    the model, the prior and the best baseline, whether the model beat them, and the WARNING
    lines. None for an artifact whose meta.json holds no baseline table."""
    cv = meta.get("cv")
    if not isinstance(cv, dict):
        return None
    table = cv.get("table")
    if not isinstance(table, dict) or MODEL_NAME not in table.get("mean", {}):
        return None
    mean = table["mean"]
    if is_sharpe_cv(cv):
        rules = {n: v["sharpe"] for n, v in mean.items() if n != MODEL_NAME}
        best_rule = max(rules, key=rules.__getitem__) if rules else None
        warnings = cv_warnings(cv)
        return {
            "objective": "sharpe",
            "model_sharpe": mean[MODEL_NAME]["sharpe"],
            "best_rule": best_rule,
            "best_rule_sharpe": rules.get(best_rule) if best_rule else None,
            "folds": len(table.get("folds", [])),
            "warnings": warnings,
            "passed": not warnings,
        }
    others = {n: v["log_loss"] for n, v in mean.items() if n not in (MODEL_NAME, "prior")}
    best = min(others, key=others.__getitem__) if others else None
    warnings = cv_warnings(cv)
    return {
        "model_log_loss": mean[MODEL_NAME]["log_loss"],
        "prior_log_loss": mean["prior"]["log_loss"] if "prior" in mean else None,
        "best_baseline": best,
        "best_baseline_log_loss": others.get(best) if best else None,
        "folds": len(table.get("folds", [])),
        "warnings": warnings,
        "passed": not warnings,
    }


def cv_check_text(check: dict[str, Any]) -> str:
    if check.get("objective") == "sharpe":
        text = f"Sharpe {check['model_sharpe']:.2f}"
        if check["best_rule"]:
            text += f", best rule {check['best_rule']} {check['best_rule_sharpe']:.2f}"
        return text
    text = f"log-loss {check['model_log_loss']:.4f}"
    if check["prior_log_loss"] is not None:
        text += f", prior {check['prior_log_loss']:.4f}"
    if check["best_baseline"]:
        text += f", {check['best_baseline']} {check['best_baseline_log_loss']:.4f}"
    return text
