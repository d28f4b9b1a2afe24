"""Training: time-series cross-validation with early stopping, then a final fit on the whole range.

Inputs are one feature array and one label array per symbol (``Segment``); windows never cross a
segment's boundary and the scaler is fitted on the rows the training windows cover, nothing else.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import TimeSeriesSplit
from torch import nn
from tqdm.auto import tqdm

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.errors import DataError, TrainingError
from bt_attention_lstm.models.labels import CLASS_NAMES, NO_LABEL
from bt_attention_lstm.models.network import AttentionLSTM
from bt_attention_lstm.models.scaling import FeatureScaler
from bt_attention_lstm.models.windows import WindowBatches

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    """One symbol's raw features (n_bars, n_features; NaN warm-up rows) and labels (n_bars,)."""

    features: np.ndarray
    labels: np.ndarray
    times: np.ndarray  # int64 nanoseconds, one per bar


@dataclass
class FoldResult:
    fold: int
    train_windows: int
    val_windows: int
    train_end: str
    val_start: str
    val_end: str
    best_epoch: int
    val_loss: float
    val_accuracy: float
    baseline_accuracy: float
    baseline_log_loss: float


@dataclass
class TrainingResult:
    model: AttentionLSTM
    scaler: FeatureScaler
    folds: list[FoldResult]
    final_epochs: int
    class_counts: list[int]
    history: list[dict[str, float]] = field(default_factory=list)

    def cv_summary(self) -> dict[str, Any]:
        return {
            "folds": [asdict(f) for f in self.folds],
            "final_epochs": self.final_epochs,
            "mean_val_accuracy": _mean([f.val_accuracy for f in self.folds]),
            "mean_val_log_loss": _mean([f.val_loss for f in self.folds]),
            "mean_baseline_accuracy": _mean([f.baseline_accuracy for f in self.folds]),
            "mean_baseline_log_loss": _mean([f.baseline_log_loss for f in self.folds]),
            "class_counts": self.class_counts,
        }


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


class _Samples:
    """Every labelled window of every segment, as rows of one concatenated feature array."""

    def __init__(self, segments: Sequence[Segment], seq_len: int):
        if not segments:
            raise DataError("no training data given")
        self.features = np.concatenate([s.features for s in segments]).astype(np.float64)
        self.labels = np.concatenate([s.labels for s in segments]).astype(np.int64)
        self.bar_times = np.concatenate([s.times for s in segments]).astype(np.int64)
        ends, offset = [], 0
        for seg in segments:
            n = seg.features.shape[0]
            defined = np.isfinite(seg.features).all(axis=1)
            # A window is usable when all its rows are defined (warm-up is a leading block) and
            # the bar it ends on has a label.
            run = np.convolve(defined.astype(np.int64), np.ones(seq_len, dtype=np.int64))[:n]
            ok = (run == seq_len) & (seg.labels != NO_LABEL)
            ends.append(np.flatnonzero(ok) + offset)
            offset += n
        ends_all = np.concatenate(ends)
        order = np.argsort(self.bar_times[ends_all], kind="stable")
        self.ends = ends_all[order]  # sorted by time
        self.seq_len = seq_len

    def __len__(self) -> int:
        return int(self.ends.size)

    def covered_rows(self, ends: np.ndarray) -> np.ndarray:
        """Rows any of these windows reads: what a scaler may be fitted on."""
        mark = np.zeros(self.features.shape[0] + 1, dtype=np.int64)
        np.add.at(mark, ends - self.seq_len + 1, 1)
        np.add.at(mark, ends + 1, -1)
        return np.flatnonzero(np.cumsum(mark)[:-1] > 0)


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


class Trainer:
    """Fits an AttentionLSTM on segments with time-series CV and early stopping."""

    def __init__(self, model_config: ModelConfig, config: TrainConfig, progress: bool = True):
        self.model_config = model_config
        self.config = config
        self.progress = progress
        self.device = resolve_device(config.device)

    def fit(self, segments: Sequence[Segment]) -> TrainingResult:
        samples = _Samples(segments, self.model_config.seq_len)
        times = samples.bar_times[samples.ends]
        folds: list[FoldResult] = []
        history: list[dict[str, float]] = []
        with _deterministic():
            for k, (tr, va) in enumerate(
                time_series_folds(times, self.config.folds, self.config.horizon)
            ):
                result, fold_history = self._run_fold(samples, k, tr, va)
                folds.append(result)
                history.extend(fold_history)
            final_epochs = max(1, int(round(float(np.median([f.best_epoch for f in folds])))))
            all_idx = np.arange(len(samples))
            model, scaler, final_history = self._fit_final(samples, all_idx, final_epochs)
            history.extend(final_history)
        counts = np.bincount(samples.labels[samples.ends], minlength=len(CLASS_NAMES))
        return TrainingResult(model, scaler, folds, final_epochs, counts.tolist(), history)

    # -- one fold -------------------------------------------------------------------------
    def _run_fold(
        self, samples: _Samples, k: int, tr: np.ndarray, va: np.ndarray
    ) -> tuple[FoldResult, list[dict[str, float]]]:
        train_ends, val_ends = samples.ends[tr], samples.ends[va]
        scaler = FeatureScaler.fit(samples.features[samples.covered_rows(train_ends)])
        scaled = scaler.transform(samples.features)
        train = WindowBatches(scaled, samples.labels, train_ends, samples.seq_len)
        val = WindowBatches(scaled, samples.labels, val_ends, samples.seq_len)
        model = self._new_model(self.config.seed + k)
        optimizer = self._optimizer(model)
        criterion = self._criterion(samples.labels[train_ends])
        rng = np.random.default_rng(self.config.seed + k)
        best_loss, best_epoch, best_state, stale = math.inf, 0, copy.deepcopy(model.state_dict()), 0
        history = []
        bar = tqdm(
            range(1, self.config.epochs + 1), desc=f"fold {k + 1}", disable=not self.progress
        )
        for epoch in bar:
            train_loss = self._train_epoch(model, optimizer, criterion, train, rng, f"fold {k + 1}")
            val_loss, _ = self._evaluate(model, val)
            history.append({"fold": k + 1, "epoch": epoch, "train": train_loss, "val": val_loss})
            bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
            if val_loss < best_loss - 1e-6:
                best_loss, best_epoch, stale = val_loss, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
                if stale >= self.config.patience:
                    break
        model.load_state_dict(best_state)
        val_loss, val_acc = self._evaluate(model, val)
        base_acc, base_ll = _baseline(samples.labels[train_ends], samples.labels[val_ends])
        fmt = _time_str
        result = FoldResult(
            fold=k + 1,
            train_windows=len(train),
            val_windows=len(val),
            train_end=fmt(samples.bar_times[train_ends[-1]]),
            val_start=fmt(samples.bar_times[val_ends[0]]),
            val_end=fmt(samples.bar_times[val_ends[-1]]),
            best_epoch=best_epoch,
            val_loss=val_loss,
            val_accuracy=val_acc,
            baseline_accuracy=base_acc,
            baseline_log_loss=base_ll,
        )
        logger.info("fold %d: %s", k + 1, result)
        return result, history

    def _fit_final(
        self, samples: _Samples, idx: np.ndarray, epochs: int
    ) -> tuple[AttentionLSTM, FeatureScaler, list[dict[str, float]]]:
        ends = samples.ends[idx]
        scaler = FeatureScaler.fit(samples.features[samples.covered_rows(ends)])
        batches = WindowBatches(
            scaler.transform(samples.features), samples.labels, ends, samples.seq_len
        )
        model = self._new_model(self.config.seed + 1000)
        optimizer = self._optimizer(model)
        criterion = self._criterion(samples.labels[ends])
        rng = np.random.default_rng(self.config.seed + 1000)
        history = []
        bar = tqdm(range(1, epochs + 1), desc="final", disable=not self.progress)
        for epoch in bar:
            loss = self._train_epoch(model, optimizer, criterion, batches, rng, "final fit")
            history.append({"fold": 0, "epoch": epoch, "train": loss, "val": float("nan")})
            bar.set_postfix(train=f"{loss:.4f}")
        model.eval()
        return model.cpu(), scaler, history

    # -- pieces ---------------------------------------------------------------------------
    def _new_model(self, seed: int) -> AttentionLSTM:
        torch.manual_seed(seed)
        return AttentionLSTM(self.model_config).to(self.device)

    def _optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )

    def _criterion(self, train_labels: np.ndarray) -> nn.Module:
        counts = np.bincount(train_labels, minlength=len(CLASS_NAMES)).astype(np.float64)
        # Inverse-frequency weights; an absent class gets weight 0 (it cannot be learned here).
        weights = np.where(counts > 0, counts.sum() / (len(counts) * np.maximum(counts, 1)), 0.0)
        return nn.CrossEntropyLoss(
            weight=torch.tensor(weights, dtype=torch.float32, device=self.device)
        )

    def _train_epoch(
        self,
        model: AttentionLSTM,
        optimizer: torch.optim.Optimizer,
        criterion: nn.Module,
        batches: WindowBatches,
        rng: np.random.Generator,
        where: str,
    ) -> float:
        model.train()
        last_good = copy.deepcopy(model.state_dict())
        total, count = 0.0, 0
        for x, y in batches.iterate(self.config.batch_size, rng):
            x, y = x.to(self.device), y.to(self.device)
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(x), y)
            if not torch.isfinite(loss):
                model.load_state_dict(last_good)
                raise TrainingError(
                    f"training diverged in {where}: loss became {loss.item()}; the last good "
                    "weights (end of the previous epoch) were kept. Lower --lr or check the data"
                )
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), self.config.grad_clip)
            optimizer.step()
            total += float(loss.item()) * len(y)
            count += len(y)
        return total / max(count, 1)

    @torch.no_grad()
    def _evaluate(self, model: AttentionLSTM, batches: WindowBatches) -> tuple[float, float]:
        """Unweighted log-loss and accuracy."""
        model.eval()
        loss_sum, correct, count = 0.0, 0, 0
        for x, y in batches.iterate(max(self.config.batch_size, 1024)):
            x, y = x.to(self.device), y.to(self.device)
            logits = model(x)
            loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
        return loss_sum / max(count, 1), correct / max(count, 1)


def _baseline(train_labels: np.ndarray, val_labels: np.ndarray) -> tuple[float, float]:
    """Majority-class accuracy and the log-loss of predicting training class frequencies."""
    counts = np.bincount(train_labels, minlength=len(CLASS_NAMES)).astype(np.float64)
    accuracy = float(np.mean(val_labels == int(np.argmax(counts))))
    probs = np.clip(counts / counts.sum(), 1e-12, 1.0)
    return accuracy, float(-np.mean(np.log(probs[val_labels])))


def _time_str(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns").astype("datetime64[s]")).replace("T00:00:00", "")


class _deterministic:
    """Deterministic torch kernels for the duration of a training run (restored after)."""

    def __enter__(self) -> None:
        self._previous = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True, warn_only=True)

    def __exit__(self, *exc: object) -> None:
        torch.use_deterministic_algorithms(self._previous)
