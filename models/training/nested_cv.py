"""Nested time-series cross-validation: the splits, and the table it reports.

Outer folds are expanding windows with a gap of ``horizon`` timestamps before each validation
block (labels look ``horizon`` bars ahead, so a smaller gap would leak the validation prices into
the last training labels). Inside each outer training fold, its latest ``inner_fraction`` of
timestamps (after another gap of ``horizon``) is the inner slice: the epoch (early stopping) and
the calibration are chosen there, and the outer validation fold is scored once, with what was
chosen. The final model is built by the same procedure on the whole range, so the table scores
the procedure that produced the shipped model.

Every fold also scores the baselines (``models.training.baselines``) on the same windows;
``cv_warnings``
turns the table into the verdict printed by train.py and audit.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import TimeSeriesSplit

from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.training.baselines import BASELINES

logger = logging.getLogger(__name__)

MODEL_NAME = "attention_lstm"
SCORED: tuple[str, ...] = (MODEL_NAME, *BASELINES)
MIN_INNER_TRAIN = 8  # distinct timestamps
MIN_INNER_VAL = 4


def time_series_folds(
    times: np.ndarray, n_folds: int, gap: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over sorted sample times with ``gap`` distinct timestamps between
    the last training and the first validation time (sklearn's ``TimeSeriesSplit``)."""
    unique = np.unique(times)
    if unique.size < (n_folds + 1) * 2 + gap:
        raise DataError(
            f"too few labelled windows ({unique.size}) for {n_folds} folds with a gap of {gap}"
        )
    splitter = TimeSeriesSplit(n_splits=n_folds, gap=gap)
    folds = []
    for train_idx, val_idx in splitter.split(unique):
        train_mask = times <= unique[train_idx[-1]]
        val_mask = (times >= unique[val_idx[0]]) & (times <= unique[val_idx[-1]])
        folds.append((np.flatnonzero(train_mask), np.flatnonzero(val_mask)))
    return folds


def inner_split(times: np.ndarray, fraction: float, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """(inner training, inner slice) positions into ``times`` (sorted sample times of one
    training fold): the slice is its latest ``fraction`` of distinct timestamps, with ``gap``
    timestamps left out before it."""
    unique = np.unique(times)
    n_val = max(MIN_INNER_VAL, int(round(fraction * unique.size)))
    n_train = unique.size - n_val - gap
    if n_train < MIN_INNER_TRAIN:
        raise DataError(
            f"too few labelled windows ({unique.size} timestamps) in a training fold for an "
            f"inner slice of {n_val} with a gap of {gap}: use more data or fewer `folds`"
        )
    train = np.flatnonzero(times <= unique[n_train - 1])
    val = np.flatnonzero(times >= unique[-n_val])
    return train, val


@dataclass(frozen=True)
class Score:
    accuracy: float
    log_loss: float


def score(probs: np.ndarray, labels: np.ndarray) -> Score:
    picked = probs[np.arange(labels.size), labels]
    return Score(
        accuracy=float(np.mean(probs.argmax(axis=1) == labels)),
        log_loss=float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0)))),
    )


@dataclass
class FoldResult:
    """One outer fold: its ranges, what the inner slice chose, and every model's score on the
    outer validation windows. ``val_*`` is the AttentionLSTM, ``baseline_*`` the prior."""

    fold: int
    train_windows: int
    val_windows: int
    train_end: str
    inner_start: str  # first timestamp of the inner slice (epochs and calibration chosen there)
    val_start: str
    val_end: str
    best_epoch: int  # median over members of the inner-chosen epoch
    chosen_epochs: list[int]
    calibration: list[str]  # per member: vector | prior
    val_loss: float
    val_accuracy: float
    baseline_accuracy: float
    baseline_log_loss: float
    scores: dict[str, Score] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"] = {name: asdict(s) for name, s in self.scores.items()}
        return out


def cv_table(folds: Sequence[FoldResult]) -> dict[str, Any]:
    """{"models", "mean": {model: {accuracy, log_loss}}, "folds": [{model: {...}}]}."""
    names = [n for n in SCORED if all(n in f.scores for f in folds)]
    mean = {
        n: {
            "accuracy": float(np.mean([f.scores[n].accuracy for f in folds])),
            "log_loss": float(np.mean([f.scores[n].log_loss for f in folds])),
        }
        for n in names
    }
    per_fold = [{n: asdict(f.scores[n]) for n in names} for f in folds]
    return {"models": names, "mean": mean, "folds": per_fold}


def cv_warnings(cv: dict[str, Any]) -> list[str]:
    """The verdict of a CV table (``cv_table`` or meta.json's ``cv``): one line per way the
    AttentionLSTM fails to beat a baseline in mean log-loss; empty when it beats them all."""
    table = cv.get("table", cv)
    mean = table.get("mean") if isinstance(table, dict) else None
    if not isinstance(mean, dict) or MODEL_NAME not in mean:
        return []
    model = mean[MODEL_NAME]["log_loss"]
    out = []
    prior = mean.get("prior", {}).get("log_loss")
    if prior is not None and not model < prior:
        out.append(
            f"the AttentionLSTM does not beat the class prior in log-loss ({model:.4f} vs "
            f"{prior:.4f}): it has found nothing here that the label frequencies do not say"
        )
    others = {n: v["log_loss"] for n, v in mean.items() if n not in (MODEL_NAME, "prior")}
    if others:
        best = min(others, key=others.__getitem__)
        if not model < others[best]:
            out.append(
                f"the AttentionLSTM does not beat the best baseline ({best}) in log-loss "
                f"({model:.4f} vs {others[best]:.4f})"
            )
    return out
