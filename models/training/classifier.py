"""Training: nested time-series cross-validation, baselines on the same folds, calibration, and
the final model (one network, or an ensemble of independently seeded ones).

Inputs are one feature array and one label array per symbol (``Segment``); windows never cross a
segment's boundary and each scaler is fitted on the rows its training windows cover, nothing
else.

Cross-validation is nested (``models.training.nested_cv``): in each outer fold the epoch (early
stopping)
and the calibration are chosen on the inner slice of its training fold, and the outer validation
fold is then scored once, beside the baselines. The final model uses what the CV found, never
data a reported figure is computed from at the time it is computed:

- it trains on every window (the latest bars included: they matter most when regimes persist)
  for the median of the epochs the inner slices chose;
- its calibration is fitted on the fold networks' out-of-fold logits and anchored at the class
  frequencies of the whole range; it falls back to that prior unless it beats it there
  (``models.training.calibration.calibrate_out_of_fold``). Two rules keep that test meaningful on
  small
  data. Only fold networks whose epoch was chosen on an inner slice large enough to judge
  (``MIN_CALIBRATION_WINDOWS``) give evidence, or the last fold (trained on the most data) when
  none was: an epoch chosen on 70-200 windows is noise (planted edge: chosen epochs from 1 to 40
  for the same data), and so are that network's logits. And each evidence network's logits are
  cross-fitted on their own halves, the differences pooled: one network's logit scale says
  nothing about another's. Planted edge, 8 seeds: 2 passed the gate with one scaling
  cross-fitted across all folds, all 8 pass now; random walks (8 models) and orcl, nvda, yhoo
  (6) stay the prior. As in scikit-learn's ``CalibratedClassifierCV(ensemble=False)``, the
  calibrator fitted on cross-validated predictions is applied to the refitted network.

An ensemble's members (``TrainConfig.ensemble`` of them) are calibrated each on its own logits
but pass the gate together, judged on their averaged probabilities as the artifact averages them
(``calibrate_members``): judged one by one, a member that passed was averaged with members
calibrated to the prior, which only diluted it.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.errors import DataError, TrainingError
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.nn.ensemble import calibrated_network
from bt_attention_lstm.models.nn.network import AttentionLSTM
from bt_attention_lstm.models.training.baselines import baseline_probabilities, lagged_rows
from bt_attention_lstm.models.training.calibration import (
    MIN_CALIBRATION_WINDOWS,
    VectorScaling,
    calibrate_members,
    calibrate_members_out_of_fold,
    fit_vector_scaling,
    log_loss,
)
from bt_attention_lstm.models.training.labels import CLASS_NAMES, NO_LABEL
from bt_attention_lstm.models.training.nested_cv import (
    MODEL_NAME,
    FoldResult,
    cv_table,
    cv_warnings,
    inner_split,
    score,
    time_series_folds,
)
from bt_attention_lstm.models.training.windows import WindowBatches

logger = logging.getLogger(__name__)

__all__ = [
    "CVReport", "FoldResult", "Segment", "TrainConfig", "Trainer", "TrainingResult",
    "time_series_folds",
]

FINAL_SEED_OFFSET = 1000
MEMBER_SEED_STRIDE = 10_000  # member m of any fit uses seed + m * stride
# One row of a training history: the fit's name ("fold 2 member 1") and one epoch's numbers.
HistoryRow = dict[str, float | str]


@dataclass(frozen=True)
class Segment:
    """One symbol's raw features (n_bars, n_features; NaN warm-up rows) and labels (n_bars,),
    with its closes for the Sharpe objective (``models.training.position``)."""

    features: np.ndarray
    labels: np.ndarray
    times: np.ndarray  # int64 nanoseconds, one per bar
    close: np.ndarray | None = None


@dataclass
class Member:
    """One trained network (raw weights, on the CPU) and what its inner slice chose."""

    model: AttentionLSTM
    calibration: VectorScaling
    epoch: int


@dataclass
class _InnerFit:
    """What one training fold's inner fit produced (``Trainer._fit_members``)."""

    scaler: FeatureScaler
    inner_start: int  # timestamp (ns) of the inner slice's first window
    inner_windows: int  # windows the epoch and the calibration were chosen on
    members: list[Member]
    history: list[HistoryRow]


@dataclass
class _OutOfFold:
    """Raw logits of each member's fold networks on their outer validation windows, and the
    labels of those windows, fold after fold."""

    logits: list[list[np.ndarray]]  # [member][fold] -> (n_val, n_classes)
    labels: list[np.ndarray]  # [fold] -> (n_val,)
    judged: list[bool] = field(default_factory=list)  # [fold] -> inner slice could judge

    def evidence(self) -> list[int]:
        """The folds whose networks speak for the final model: those whose epoch was chosen on
        an inner slice large enough to judge (``MIN_CALIBRATION_WINDOWS``); the last fold, the
        one trained on the most data, when none was."""
        judged = [k for k, ok in enumerate(self.judged) if ok]
        return judged or [len(self.labels) - 1]


@dataclass
class CVReport:
    """The outer folds of a nested cross-validation, every model scored on each."""

    folds: list[FoldResult]
    class_counts: list[int]
    history: list[HistoryRow] = field(default_factory=list)

    def table(self) -> dict[str, Any]:
        return cv_table(self.folds)

    def warnings(self) -> list[str]:
        return cv_warnings(self.table())

    def summary(self) -> dict[str, Any]:
        return {
            "folds": [f.to_dict() for f in self.folds],
            "mean_val_accuracy": _mean([f.val_accuracy for f in self.folds]),
            "mean_val_log_loss": _mean([f.val_loss for f in self.folds]),
            "mean_baseline_accuracy": _mean([f.baseline_accuracy for f in self.folds]),
            "mean_baseline_log_loss": _mean([f.baseline_log_loss for f in self.folds]),
            "class_counts": self.class_counts,
            "table": self.table(),
            "nested": True,
        }


@dataclass
class TrainingResult:
    """The final model (``model``: calibrated, an ensemble when several members) and its CV."""

    members: list[AttentionLSTM]  # raw weights, as saved
    calibrations: list[VectorScaling]
    scaler: FeatureScaler
    cv: CVReport
    final_epochs: int
    final_chosen_epochs: list[int]
    history: list[HistoryRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model, self.calibrated_members = calibrated_network(self.members, self.calibrations)

    @property
    def folds(self) -> list[FoldResult]:
        return self.cv.folds

    @property
    def class_counts(self) -> list[int]:
        return self.cv.class_counts

    def cv_summary(self) -> dict[str, Any]:
        return {
            **self.cv.summary(),
            "final_epochs": self.final_epochs,
            "final_chosen_epochs": self.final_chosen_epochs,
            "final_calibration": [c.kind for c in self.calibrations],
            "ensemble": len(self.members),
        }


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


class WindowSamples:
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


class Trainer:
    """Fits AttentionLSTMs on segments with nested time-series CV (see the module docstring)."""

    def __init__(self, model_config: ModelConfig, config: TrainConfig, progress: bool = True):
        # the classifier's head, whatever head the architecture was given
        self.model_config = dataclasses.replace(model_config, head="classify")
        self.config = config
        self.progress = progress
        self.device = resolve_device(config.device)

    def cross_validate(self, segments: Sequence[Segment]) -> CVReport:
        """The outer folds only: the model and the baselines, each fold scored once."""
        samples = WindowSamples(segments, self.model_config.seq_len)
        with deterministic_torch():
            return self._cross_validate(samples)[0]

    def fit(self, segments: Sequence[Segment]) -> TrainingResult:
        """Cross-validate, then build the final model from what the CV chose (module docs)."""
        samples = WindowSamples(segments, self.model_config.seq_len)
        with deterministic_torch():
            report, out_of_fold = self._cross_validate(samples)
            epochs = max(1, int(round(float(np.median(
                [e for f in report.folds for e in f.chosen_epochs]
            )))))
            ends = samples.ends
            scaler = FeatureScaler.fit(samples.features[samples.covered_rows(ends)])
            everything = WindowBatches(
                scaler.transform(samples.features), samples.labels, ends, samples.seq_len
            )
            members = []
            for m in range(self.config.ensemble):
                name = "final" if self.config.ensemble == 1 else f"final member {m + 1}"
                seed = self.config.seed + FINAL_SEED_OFFSET + m * MEMBER_SEED_STRIDE
                members.append(self._trained_for(everything, epochs, seed, name).cpu())
            evidence = out_of_fold.evidence()
            calibrations = self._calibrate_out_of_fold(
                [[member[k] for k in evidence] for member in out_of_fold.logits],
                [out_of_fold.labels[k] for k in evidence],
                samples.labels[ends],
            )
        return TrainingResult(
            members=members,
            calibrations=calibrations,
            scaler=scaler,
            cv=report,
            final_epochs=epochs,
            final_chosen_epochs=[epochs] * len(members),
            history=report.history,
        )

    # -- nested CV ------------------------------------------------------------------------
    def _cross_validate(self, samples: WindowSamples) -> tuple[CVReport, _OutOfFold]:
        times = samples.bar_times[samples.ends]
        folds, history = [], []
        out_of_fold = _OutOfFold([[] for _ in range(self.config.ensemble)], [])
        for k, (tr, va) in enumerate(
            time_series_folds(times, self.config.folds, self.config.horizon)
        ):
            result, fold_history = self._run_fold(samples, k, tr, va, out_of_fold)
            folds.append(result)
            history.extend(fold_history)
        counts = np.bincount(samples.labels[samples.ends], minlength=len(CLASS_NAMES))
        return CVReport(folds, counts.tolist(), history), out_of_fold

    def _run_fold(
        self, samples: WindowSamples, k: int, tr: np.ndarray, va: np.ndarray,
        out_of_fold: _OutOfFold | None = None,
    ) -> tuple[FoldResult, list[HistoryRow]]:
        fit = self._fit_members(samples, tr, self.config.seed + k, f"fold {k + 1}")
        scaler, members = fit.scaler, fit.members
        train_ends, val_ends = samples.ends[tr], samples.ends[va]
        scaled = scaler.transform(samples.features)
        val = WindowBatches(scaled, samples.labels, val_ends, samples.seq_len)
        y_train, y_val = samples.labels[train_ends], samples.labels[val_ends]
        # The outer fold is scored here once, with what the inner slice chose. Its raw logits
        # are kept for the final model's calibration (fitted after the whole table exists).
        logits = [self._logits(m.model, val) for m in members]
        if out_of_fold is not None:
            for m, member_logits in enumerate(logits):
                out_of_fold.logits[m].append(member_logits)
            out_of_fold.labels.append(samples.labels[val_ends])
            out_of_fold.judged.append(fit.inner_windows >= MIN_CALIBRATION_WINDOWS)
        probs = {MODEL_NAME: np.mean(
            [m.calibration.probabilities(z) for m, z in zip(members, logits, strict=True)], axis=0
        )}
        L = samples.seq_len
        probs.update(
            baseline_probabilities(
                lagged_rows(scaled, train_ends, L), y_train, lagged_rows(scaled, val_ends, L),
                len(CLASS_NAMES), self.config.seed + k,
            )
        )
        scores = {name: score(p, y_val) for name, p in probs.items()}
        fmt = time_str
        result = FoldResult(
            fold=k + 1,
            train_windows=int(tr.size),
            val_windows=int(va.size),
            train_end=fmt(samples.bar_times[train_ends[-1]]),
            inner_start=fmt(fit.inner_start),
            val_start=fmt(samples.bar_times[val_ends[0]]),
            val_end=fmt(samples.bar_times[val_ends[-1]]),
            best_epoch=max(1, int(round(float(np.median([m.epoch for m in members]))))),
            chosen_epochs=[m.epoch for m in members],
            calibration=[m.calibration.kind for m in members],
            val_loss=scores[MODEL_NAME].log_loss,
            val_accuracy=scores[MODEL_NAME].accuracy,
            baseline_accuracy=scores["prior"].accuracy,
            baseline_log_loss=scores["prior"].log_loss,
            scores=scores,
        )
        logger.info("fold %d: %s", k + 1, result)
        return result, fit.history

    def _fit_members(
        self, samples: WindowSamples, idx: np.ndarray, seed: int, label: str
    ) -> _InnerFit:
        """Scaler on the rows of ``idx``'s windows; per member: weights on the inner training
        part, epoch and calibration on the inner slice."""
        ends = samples.ends[idx]
        scaler = FeatureScaler.fit(samples.features[samples.covered_rows(ends)])
        scaled = scaler.transform(samples.features)
        inner_tr, inner_va = inner_split(
            samples.bar_times[ends], self.config.inner_fraction, self.config.horizon
        )
        train = WindowBatches(scaled, samples.labels, ends[inner_tr], samples.seq_len)
        inner = WindowBatches(scaled, samples.labels, ends[inner_va], samples.seq_len)
        inner_labels = samples.labels[ends[inner_va]]
        fitted: list[tuple[AttentionLSTM, int]] = []
        history: list[HistoryRow] = []
        for m in range(self.config.ensemble):
            name = label if self.config.ensemble == 1 else f"{label} member {m + 1}"
            model, epoch, member_history = self._early_stopped(
                train, inner, seed + m * MEMBER_SEED_STRIDE, name
            )
            fitted.append((model, epoch))
            history.extend({"fit": name, **h} for h in member_history)
        # the members pass the calibration gate together, on their averaged probabilities
        calibrations = self._calibrate(
            [self._logits(model, inner) for model, _ in fitted], inner_labels, samples.labels[ends]
        )
        members = [Member(model.cpu().eval(), calibration, epoch)
                   for (model, epoch), calibration in zip(fitted, calibrations, strict=True)]
        inner_start = int(samples.bar_times[ends[inner_va[0]]])
        return _InnerFit(scaler, inner_start, int(inner_va.size), members, history)

    def _early_stopped(
        self, train: WindowBatches, inner: WindowBatches, seed: int, name: str
    ) -> tuple[AttentionLSTM, int, list[dict[str, float]]]:
        """Train up to ``epochs``; keep the epoch with the lowest calibrated log-loss on the inner
        slice (the network is trained with class weights, so its raw log-loss mostly measures
        how far those weights push it from the class frequencies, not what it knows)."""
        model = self._new_model(seed)
        optimizer = self._optimizer(model)
        criterion = self._criterion(train.labels[train.end_index])
        rng = np.random.default_rng(seed)
        best_loss, best_epoch, best_state, stale = math.inf, 0, copy.deepcopy(model.state_dict()), 0
        history = []
        bar = tqdm(range(1, self.config.epochs + 1), desc=name, disable=not self.progress)
        for epoch in bar:
            train_loss = self._train_epoch(model, optimizer, criterion, train, rng, name)
            inner_loss = self._calibrated_loss(model, inner)
            history.append({"epoch": epoch, "train": train_loss, "inner": inner_loss})
            bar.set_postfix(train=f"{train_loss:.4f}", inner=f"{inner_loss:.4f}")
            if inner_loss < best_loss - 1e-6:
                best_loss, best_epoch, stale = inner_loss, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
                if stale >= self.config.patience:
                    break
        model.load_state_dict(best_state)
        model.eval()
        return model, max(best_epoch, 1), history

    def _trained_for(
        self, batches: WindowBatches, epochs: int, seed: int, name: str
    ) -> AttentionLSTM:
        model = self._new_model(seed)
        optimizer = self._optimizer(model)
        criterion = self._criterion(batches.labels[batches.end_index])
        rng = np.random.default_rng(seed)
        for _ in tqdm(range(epochs), desc=name, disable=not self.progress):
            self._train_epoch(model, optimizer, criterion, batches, rng, name)
        return model.eval()

    def _calibrated_loss(self, model: AttentionLSTM, inner: WindowBatches) -> float:
        labels = inner.labels[inner.end_index]
        logits = self._logits(model, inner)
        return log_loss(fit_vector_scaling(logits, labels).probabilities(logits), labels)

    # -- pieces ---------------------------------------------------------------------------
    def _new_model(self, seed: int) -> AttentionLSTM:
        return seeded_model(self.model_config, seed, self.device)

    def _optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return adamw(model, self.config)

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
                    "weights (end of the previous epoch) were kept. Lower `lr` or check the data"
                )
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), self.config.grad_clip)
            optimizer.step()
            total += float(loss.item()) * len(y)
            count += len(y)
        return total / max(count, 1)

    def _calibrate(
        self, member_logits: list[np.ndarray], labels: np.ndarray, fold_labels: np.ndarray
    ) -> list[VectorScaling]:
        """One calibration per member, chosen on the inner slice (members judged together)."""
        if self.config.calibration == "none":
            return [VectorScaling.identity(z.shape[1]) for z in member_logits]
        return calibrate_members(member_logits, labels, fold_labels, block=self.config.horizon)

    def _calibrate_out_of_fold(
        self, member_parts: list[list[np.ndarray]], label_parts: list[np.ndarray],
        fold_labels: np.ndarray,
    ) -> list[VectorScaling]:
        """The final members' calibrations from their fold networks' out-of-fold logits."""
        if self.config.calibration == "none":
            return [VectorScaling.identity(parts[0].shape[1]) for parts in member_parts]
        return calibrate_members_out_of_fold(member_parts, label_parts, fold_labels,
                                             block=self.config.horizon)

    @torch.no_grad()
    def _logits(self, model: AttentionLSTM, batches: WindowBatches) -> np.ndarray:
        """(n_windows, n_classes) float64 logits, in the batches' order."""
        model.eval()
        device = next(model.parameters()).device
        out = [
            model(x.to(device)).double().cpu().numpy()
            for x, _ in batches.iterate(max(self.config.batch_size, 1024))
        ]
        return np.concatenate(out) if out else np.empty((0, self.model_config.n_classes))

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


def seeded_model(config: ModelConfig, seed: int, device: torch.device) -> AttentionLSTM:
    """A new network whose initial weights depend on ``seed`` alone."""
    torch.manual_seed(seed)
    return AttentionLSTM(config).to(device)


def adamw(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser every trainer uses: AdamW at ``config.lr`` and ``config.weight_decay``."""
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def time_str(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns").astype("datetime64[s]")).replace("T00:00:00", "")


class deterministic_torch:
    """Deterministic torch kernels for the duration of a training run (restored after)."""

    def __enter__(self) -> None:
        self._previous = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True, warn_only=True)

    def __exit__(self, *exc: object) -> None:
        torch.use_deterministic_algorithms(self._previous)
