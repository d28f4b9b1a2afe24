"""Training a position head on the Sharpe ratio of its volatility-targeted returns after costs.

The objective of Deep Momentum Networks (Lim, Zohren & Roberts, 2019): the network outputs a
position p_t = tanh(z_t) in (-1, 1), held as the weight w_t = p_t * target_vol / (sigma_t *
sqrt(periods_per_year)) (``models.portfolio.vol_targeting``), and is trained to maximise the
annualised
Sharpe ratio of R_{t+1} = w_t * r_{t+1} - cost * |w_t - w_{t-1}| over mini-batches of time:
blocks of ``block_len`` consecutive bars of one symbol, so that the turnover term sees
consecutive positions.

Panels: every symbol is a ``Segment`` (its own features, closes and ex-ante volatility); an
epoch draws as many blocks as there are, each symbol equally often whatever its length, so one
long series does not dominate. Returns are vol-scaled before they enter the loss, so symbols of
different volatility weigh alike.

Validation is nested as for the classifier (``models.training.nested_cv``): within each outer
training
fold, the epoch is chosen on the inner slice's portfolio Sharpe (the vol-scaled returns after
costs averaged across symbols date by date, then the Sharpe: the "diversified" Sharpe of the
authors' code), and the outer fold is scored once, beside the simple rules
(``models.portfolio.trading_rules``) on the same bars and costs. The final model trains on every
window
for the median chosen epoch count; one that earns no positive Sharpe on its own training bars
has not fitted (too few epochs to leave its random start) and is trained again from another
seed. An ensemble's members average their positions.
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
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data import infer_periods_per_year
from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.errors import DataError, TrainingError
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.nn.ensemble import calibrated_network
from bt_attention_lstm.models.nn.network import AttentionLSTM
from bt_attention_lstm.models.portfolio.trading_rules import RULES
from bt_attention_lstm.models.portfolio.vol_targeting import (
    VolTarget,
    annualised_sharpe,
    ex_ante_vol,
)
from bt_attention_lstm.models.training.calibration import VectorScaling
from bt_attention_lstm.models.training.classifier import (
    FINAL_SEED_OFFSET,
    MEMBER_SEED_STRIDE,
    HistoryRow,
    Segment,
    WindowSamples,
    adamw,
    deterministic_torch,
    seeded_model,
    time_str,
)
from bt_attention_lstm.models.training.labels import NO_LABEL
from bt_attention_lstm.models.training.nested_cv import MODEL_NAME, inner_split, time_series_folds
from bt_attention_lstm.models.training.windows import WindowBatches

logger = logging.getLogger(__name__)

# A final network that earns no positive Sharpe on its own training bars is trained again from
# another seed, at most this many times in all (``PositionTrainer._final_member``).
FINAL_ATTEMPTS = 3
RETRY_SEED_STRIDE = 100  # attempt a of a final fit uses its seed + a * stride



@dataclass(frozen=True)
class PanelTargets:
    """Per row of the concatenated segments: the next bar's simple return, the ex-ante
    volatility, the symbol, and each rule's position (what the outer folds score beside the
    model)."""

    next_return: np.ndarray
    sigma: np.ndarray
    symbol: np.ndarray
    rule_positions: dict[str, np.ndarray]
    periods_per_year: float

    @classmethod
    def of(cls, segments: Sequence[Segment]) -> PanelTargets:
        nxt, sig, sym = [], [], []
        rules: dict[str, list[np.ndarray]] = {name: [] for name in RULES}
        years = []
        for k, seg in enumerate(segments):
            if seg.close is None:
                raise DataError("the Sharpe objective needs each segment's closes")
            c = np.asarray(seg.close, dtype=np.float64)
            r = np.full(c.shape[0], np.nan)
            r[:-1] = c[1:] / c[:-1] - 1.0
            nxt.append(r)
            sig.append(ex_ante_vol(c))
            sym.append(np.full(c.shape[0], k, dtype=np.int64))
            for name, rule in RULES.items():
                rules[name].append(np.asarray(rule(c), dtype=np.float64))
            if c.shape[0] > 2:
                times = pd.DatetimeIndex(np.asarray(seg.times, "M8[ns]"))
                years.append(infer_periods_per_year(times))
        return cls(
            next_return=np.concatenate(nxt),
            sigma=np.concatenate(sig),
            symbol=np.concatenate(sym),
            rule_positions={n: np.concatenate(v) for n, v in rules.items()},
            periods_per_year=float(np.median(years)) if years else 252.0,
        )

    def defined(self) -> np.ndarray:
        """Rows with a next return and a volatility: where a window can be scored."""
        return np.isfinite(self.next_return) & np.isfinite(self.sigma) & (self.sigma > 0)


def portfolio_returns(
    ends: np.ndarray,
    positions: np.ndarray,
    targets: PanelTargets,
    times: np.ndarray,
    vol: VolTarget,
    cost: float,
) -> pd.Series:
    """Equal-weight portfolio of every symbol's vol-scaled net returns over the windows
    ``ends`` (each symbol's rows in time order), averaged date by date."""
    parts = []
    for sym in np.unique(targets.symbol[ends]):
        rows = ends[targets.symbol[ends] == sym]
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        pos = positions[targets.symbol[ends] == sym][order]
        w = np.nan_to_num(vol.weights(pos, targets.sigma[rows]), nan=0.0)
        change = np.abs(np.diff(np.concatenate([[0.0], w])))
        net = w * targets.next_return[rows] - cost * change
        parts.append(pd.Series(net, index=times[rows]))
    if not parts:
        return pd.Series(dtype=float)
    return pd.concat(parts, axis=1).mean(axis=1).sort_index()


@dataclass
class PositionFold:
    """One outer fold: its ranges, the epochs its inner slices chose, and the portfolio Sharpe
    of the model and of every rule on its validation bars (same vol target and costs)."""

    fold: int
    train_windows: int
    val_windows: int
    train_end: str
    inner_start: str
    val_start: str
    val_end: str
    chosen_epochs: list[int]
    inner_sharpe: float
    sharpe: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PositionCVReport:
    """The outer folds of the nested CV of a position head."""

    folds: list[PositionFold]
    history: list[HistoryRow] = field(default_factory=list)

    def table(self) -> dict[str, Any]:
        names = list(self.folds[0].sharpe) if self.folds else []
        mean = {n: {"sharpe": float(np.mean([f.sharpe[n] for f in self.folds]))} for n in names}
        return {"models": names, "mean": mean,
                "folds": [{n: {"sharpe": f.sharpe[n]} for n in names} for f in self.folds]}

    def warnings(self) -> list[str]:
        return position_cv_warnings(self.table())

    def summary(self) -> dict[str, Any]:
        return {
            "objective": "sharpe",
            "folds": [f.to_dict() for f in self.folds],
            "mean_val_sharpe": _mean([f.sharpe[MODEL_NAME] for f in self.folds]),
            "table": self.table(),
            "nested": True,
        }


def position_cv_warnings(cv: dict[str, Any]) -> list[str]:
    """One line per way the model fails its outer folds: a mean Sharpe <= 0, or behind the best
    rule's."""
    table = cv.get("table", cv)
    mean = table.get("mean") if isinstance(table, dict) else None
    if not isinstance(mean, dict) or MODEL_NAME not in mean:
        return []
    model = mean[MODEL_NAME]["sharpe"]
    out = []
    if not model > 0:
        out.append(f"the AttentionLSTM's mean out-of-fold Sharpe is {model:.2f}: no evidence of "
                   "an edge on these folds")
    rules = {n: v["sharpe"] for n, v in mean.items() if n != MODEL_NAME}
    if rules:
        best = max(rules, key=rules.__getitem__)
        if not model > rules[best]:
            out.append(f"the AttentionLSTM does not beat the best rule ({best}) on the outer "
                       f"folds (Sharpe {model:.2f} vs {rules[best]:.2f})")
    return out


@dataclass
class PositionTrainingResult:
    """The final members (raw weights, position heads), their scaler, and the CV."""

    members: list[AttentionLSTM]
    scaler: FeatureScaler
    cv: PositionCVReport
    final_epochs: int
    calibrations: list[VectorScaling] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    training_sharpe: list[float] = field(default_factory=list)  # per member, on its own bars

    def __post_init__(self) -> None:
        if not self.calibrations:
            self.calibrations = [VectorScaling.identity(3)] * len(self.members)
        self.model, self.calibrated_members = calibrated_network(self.members, self.calibrations)

    @property
    def folds(self) -> list[PositionFold]:
        return self.cv.folds

    def cv_summary(self) -> dict[str, Any]:
        return {
            **self.cv.summary(),
            "final_epochs": self.final_epochs,
            "final_chosen_epochs": [self.final_epochs] * len(self.members),
            "final_training_sharpe": list(self.training_sharpe),
            "ensemble": len(self.members),
        }


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def epoch_blocks(
    ends: np.ndarray, symbol: np.ndarray, block_len: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """One epoch's blocks of consecutive windows (feature rows ``ends``; ``symbol`` per row).

    Each symbol's windows are cut at a random offset into runs of ``block_len`` (its whole run
    when shorter). One symbol: its blocks in a random order. Several: as many blocks as there
    are, each drawn from a symbol chosen uniformly, so a long history weighs no more than a
    short one.
    """
    per_symbol = []
    for sym in np.unique(symbol[ends]):
        rows = np.sort(ends[symbol[ends] == sym])
        length = min(block_len, rows.size)
        start = int(rng.integers(0, length))
        cuts = [rows[s : s + length] for s in range(start, rows.size - length + 1, length)]
        if start:
            cuts.append(rows[:length])
        per_symbol.append(cuts)
    total = sum(len(c) for c in per_symbol)
    if len(per_symbol) == 1:
        return [per_symbol[0][i] for i in rng.permutation(total)]
    chosen = []
    for _ in range(total):
        cuts = per_symbol[int(rng.integers(len(per_symbol)))]
        chosen.append(cuts[int(rng.integers(len(cuts)))])
    return chosen


def sharpe_step(
    model: AttentionLSTM, optimizer: torch.optim.Optimizer, loss_fn: SharpeLoss,
    windows: WindowBatches, targets: PanelTargets, group: Sequence[np.ndarray],
    grad_clip: float, device: torch.device,
) -> float:
    """One optimiser step on a batch of blocks (cut to the shortest); returns the loss. A
    non-finite loss takes no step (the caller decides what it means)."""
    length = min(len(g) for g in group)
    rows = np.stack([g[:length] for g in group])  # (blocks, length) feature rows
    x = windows.windows_ending_at(rows.reshape(-1)).to(device)
    sigma = torch.from_numpy(targets.sigma[rows]).float().to(device)
    nxt = torch.from_numpy(targets.next_return[rows]).float().to(device)
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model.position(x).reshape(rows.shape), sigma, nxt)
    if not torch.isfinite(loss):
        return float(loss.item())
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return float(loss.item())


class SharpeLoss(nn.Module):
    """Negative annualised Sharpe of vol-scaled positions after a turnover cost, over a batch of
    (blocks, block_len) consecutive bars."""

    def __init__(self, vol: VolTarget, cost: float) -> None:
        super().__init__()
        self.vol, self.cost = vol, cost

    def forward(
        self, position: torch.Tensor, sigma: torch.Tensor, next_return: torch.Tensor
    ) -> torch.Tensor:
        scale = self.vol.target_vol / (sigma * math.sqrt(self.vol.periods_per_year))
        w = torch.clamp(position * scale, -self.vol.max_leverage, self.vol.max_leverage)
        captured = w * next_return
        captured[:, 1:] = captured[:, 1:] - self.cost * (w[:, 1:] - w[:, :-1]).abs()
        flat = captured.reshape(-1)
        sd = flat.std() + 1e-9
        return -(flat.mean() / sd) * math.sqrt(self.vol.periods_per_year)


class PositionTrainer:
    """Fits position heads with nested time-series CV (see the module docstring)."""

    def __init__(self, model_config: ModelConfig, config: TrainConfig, progress: bool = True):
        self.model_config = dataclasses.replace(model_config, head=config.head)
        self.config = config
        self.progress = progress
        self.device = resolve_device(config.device)
        self.cost = config.cost_bps / 10_000.0

    # -- data -------------------------------------------------------------------------------
    def _prepare(self, segments: Sequence[Segment]) -> tuple[WindowSamples, PanelTargets]:
        targets = PanelTargets.of(segments)
        offset = 0
        masked = []
        for seg in segments:
            n = seg.features.shape[0]
            ok = targets.defined()[offset : offset + n]
            masked.append(Segment(seg.features, np.where(ok, 0, NO_LABEL), seg.times, seg.close))
            offset += n
        samples = WindowSamples(masked, self.model_config.seq_len)
        if len(samples) == 0:
            raise DataError("no window has a next return to train on")
        self.vol = VolTarget(self.config.target_vol, periods_per_year=targets.periods_per_year)
        return samples, targets

    def cross_validate(self, segments: Sequence[Segment]) -> PositionCVReport:
        samples, targets = self._prepare(segments)
        with deterministic_torch():
            return self._cross_validate(samples, targets)

    def fit(self, segments: Sequence[Segment]) -> PositionTrainingResult:
        samples, targets = self._prepare(segments)
        with deterministic_torch():
            report = self._cross_validate(samples, targets)
            epochs = max(1, int(round(float(np.median(
                [e for f in report.folds for e in f.chosen_epochs]
            )))))
            ends = samples.ends
            scaler = FeatureScaler.fit(samples.features[samples.covered_rows(ends)])
            scaled = scaler.transform(samples.features)
            members, fitted = [], []
            for m in range(self.config.ensemble):
                name = "final" if self.config.ensemble == 1 else f"final member {m + 1}"
                seed = self.config.seed + FINAL_SEED_OFFSET + m * MEMBER_SEED_STRIDE
                model, sharpe = self._final_member(
                    scaled, samples, targets, ends, epochs, seed, name
                )
                members.append(model)
                fitted.append(sharpe)
        return PositionTrainingResult(members, scaler, report, epochs, history=report.history,
                                      training_sharpe=fitted)

    def _final_member(
        self, scaled: np.ndarray, samples: WindowSamples, targets: PanelTargets,
        ends: np.ndarray, epochs: int, seed: int, name: str,
    ) -> tuple[AttentionLSTM, float]:
        """(a final network trained on every window for ``epochs``, its Sharpe on those windows).

        A network trained to maximise the Sharpe ratio that does not earn a positive one on its
        own training bars has failed to fit: the folds chose so few epochs (often one, about ten
        optimiser steps) that its positions are still its random start's, and their sign is a
        coin toss. It is trained again from another seed, at most ``FINAL_ATTEMPTS`` times; the
        attempt that fits best is kept, with a warning when none fits.
        """
        best: tuple[AttentionLSTM, float] | None = None
        for attempt in range(FINAL_ATTEMPTS):
            attempt_seed = seed + attempt * RETRY_SEED_STRIDE
            model = self._new_model(attempt_seed)
            optimizer = self._optimizer(model)
            rng = np.random.default_rng(attempt_seed)
            for _ in tqdm(range(epochs), desc=name, disable=not self.progress):
                self._train_epoch(model, optimizer, scaled, samples, targets, ends, rng, name)
            sharpe = self._score(ends, self._positions(model, scaled, samples, ends), targets,
                                 samples.bar_times)
            if best is None or sharpe > best[1]:
                best = (model.cpu().eval(), sharpe)
            if sharpe > 0:
                break
            logger.warning(
                "%s: the network trained for %d epoch(s) from seed %d earns a Sharpe of %.2f on "
                "its own training bars: it did not fit%s", name, epochs, attempt_seed, sharpe,
                "; training it again from another seed" if attempt + 1 < FINAL_ATTEMPTS else "",
            )
        assert best is not None  # FINAL_ATTEMPTS >= 1
        if not best[1] > 0:
            logger.warning("%s: no attempt fitted its training bars; keeping the best (Sharpe "
                           "%.2f): its positions are close to a random network's", name, best[1])
        return best

    # -- nested CV --------------------------------------------------------------------------
    def _cross_validate(self, samples: WindowSamples, targets: PanelTargets) -> PositionCVReport:
        times = samples.bar_times[samples.ends]
        folds, history = [], []
        for k, (tr, va) in enumerate(
            time_series_folds(times, self.config.folds, self.config.horizon)
        ):
            fold, fold_history = self._run_fold(samples, targets, k, tr, va)
            folds.append(fold)
            history.extend(fold_history)
        return PositionCVReport(folds, history)

    def _run_fold(
        self, samples: WindowSamples, targets: PanelTargets, k: int, tr: np.ndarray,
        va: np.ndarray,
    ) -> tuple[PositionFold, list[HistoryRow]]:
        ends = samples.ends[tr]
        scaler = FeatureScaler.fit(samples.features[samples.covered_rows(ends)])
        scaled = scaler.transform(samples.features)
        inner_tr, inner_va = inner_split(
            samples.bar_times[ends], self.config.inner_fraction, self.config.horizon
        )
        members, inner_scores = [], []
        history: list[HistoryRow] = []
        for m in range(self.config.ensemble):
            name = f"fold {k + 1}" + (f" member {m + 1}" if self.config.ensemble > 1 else "")
            seed = self.config.seed + k + m * MEMBER_SEED_STRIDE
            model, epoch, inner, member_history = self._early_stopped(
                scaled, samples, targets, ends[inner_tr], ends[inner_va], seed, name
            )
            members.append((model, epoch))
            inner_scores.append(inner)
            history.extend({"fit": name, **h} for h in member_history)
        val_ends = samples.ends[va]
        positions = np.mean(
            [self._positions(model, scaled, samples, val_ends) for model, _ in members], axis=0
        )
        bar_times = samples.bar_times
        sharpe = {MODEL_NAME: self._score(val_ends, positions, targets, bar_times)}
        for name, rule in targets.rule_positions.items():
            sharpe[name] = self._score(val_ends, rule[val_ends], targets, bar_times)
        fold = PositionFold(
            fold=k + 1,
            train_windows=int(tr.size),
            val_windows=int(va.size),
            train_end=time_str(bar_times[ends[-1]]),
            inner_start=time_str(bar_times[ends[inner_va[0]]]),
            val_start=time_str(bar_times[val_ends[0]]),
            val_end=time_str(bar_times[val_ends[-1]]),
            chosen_epochs=[e for _, e in members],
            inner_sharpe=float(np.mean(inner_scores)),
            sharpe=sharpe,
        )
        logger.info("fold %d: %s", k + 1, fold)
        return fold, history

    def _score(
        self, ends: np.ndarray, positions: np.ndarray, targets: PanelTargets, times: np.ndarray
    ) -> float:
        returns = portfolio_returns(ends, positions, targets, times, self.vol, self.cost)
        return annualised_sharpe(returns, self.vol.periods_per_year)

    def _early_stopped(
        self, scaled: np.ndarray, samples: WindowSamples, targets: PanelTargets,
        train_ends: np.ndarray, inner_ends: np.ndarray, seed: int, name: str,
    ) -> tuple[AttentionLSTM, int, float, list[dict[str, float]]]:
        """Train up to ``epochs``; keep the epoch with the best inner portfolio Sharpe."""
        model = self._new_model(seed)
        optimizer = self._optimizer(model)
        rng = np.random.default_rng(seed)
        best, best_epoch, best_state, stale = -math.inf, 0, copy.deepcopy(model.state_dict()), 0
        history = []
        bar = tqdm(range(1, self.config.epochs + 1), desc=name, disable=not self.progress)
        for epoch in bar:
            loss = self._train_epoch(
                model, optimizer, scaled, samples, targets, train_ends, rng, name
            )
            positions = self._positions(model, scaled, samples, inner_ends)
            inner = self._score(inner_ends, positions, targets, samples.bar_times)
            history.append({"epoch": epoch, "train_sharpe": -loss, "inner_sharpe": inner})
            bar.set_postfix(train=f"{-loss:.2f}", inner=f"{inner:.2f}")
            if inner > best + 1e-6:
                best, best_epoch, stale = inner, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
                if stale >= self.config.patience:
                    break
        model.load_state_dict(best_state)
        return model.eval(), max(best_epoch, 1), best, history

    # -- pieces -----------------------------------------------------------------------------
    def _new_model(self, seed: int) -> AttentionLSTM:
        return seeded_model(self.model_config, seed, self.device)

    def _optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return adamw(model, self.config)

    def _train_epoch(
        self, model: AttentionLSTM, optimizer: torch.optim.Optimizer, scaled: np.ndarray,
        samples: WindowSamples, targets: PanelTargets, ends: np.ndarray,
        rng: np.random.Generator, where: str,
    ) -> float:
        model.train()
        loss_fn = SharpeLoss(self.vol, self.cost)
        blocks = epoch_blocks(ends, targets.symbol, self.config.block_len, rng)
        per_batch = max(1, self.config.batch_size // self.config.block_len)
        windows = WindowBatches(scaled, samples.labels, samples.ends, samples.seq_len)
        total, count = 0.0, 0
        for b in range(0, len(blocks), per_batch):
            group = blocks[b : b + per_batch]
            loss = sharpe_step(model, optimizer, loss_fn, windows, targets, group,
                               self.config.grad_clip, self.device)
            if not math.isfinite(loss):
                raise TrainingError(
                    f"training diverged in {where}: loss became {loss}; lower `lr` or "
                    "check the data"
                )
            total += loss * len(group)
            count += len(group)
        return total / max(count, 1)

    @torch.no_grad()
    def _positions(
        self, model: AttentionLSTM, scaled: np.ndarray, samples: WindowSamples, ends: np.ndarray
    ) -> np.ndarray:
        model.eval()
        windows = WindowBatches(scaled, samples.labels, samples.ends, samples.seq_len)
        out = []
        step = max(self.config.batch_size, 1024)
        for b in range(0, ends.size, step):
            x = windows.windows_ending_at(ends[b : b + step]).to(self.device)
            out.append(model.position(x).double().cpu().numpy())
        return np.concatenate(out) if out else np.empty(0)
