"""Evaluate the default model on one data set: train on the first part only, then score it.

For each training seed: the nested CV table (the AttentionLSTM against the baselines on the same
folds, from ``models.training.classifier``), the out-of-sample log-loss of the model against the
training
prior's, and an out-of-sample backtest. The trading baselines run once on the same range with
the same broker. Training goes through ``default_model.cached_model``, so the model for the
default seed is the very one the no-argument ``backtest.py`` trades.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data import infer_periods_per_year
from bt_attention_lstm.models.features.compute import compute_features, warmup_bars
from bt_attention_lstm.models.inference.predictors import BatchedPredictor
from bt_attention_lstm.models.training.labels import CLASS_NAMES, NO_LABEL, make_labels
from bt_attention_lstm.models.training.nested_cv import score
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, run_cerebro
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_TRAIN_CONFIG,
    cached_model,
    default_model_config,
    split_point,
)
from bt_attention_lstm.runners.research.evaluation.beside_rules import model_beside_rules
from bt_attention_lstm.runners.research.evaluation.scoring import (
    TradingScore,
    mean_sd,
    summarise,
    trading_score,
)
from bt_attention_lstm.runners.research.evaluation.trading_baselines import (
    TRADING_BASELINES,
    run_trading_baseline,
)

logger = logging.getLogger(__name__)

MODEL_ROW = "attention_lstm"


@dataclass(frozen=True)
class EvalSettings:
    """What every data set is evaluated with."""

    train_fraction: float = 0.6
    seeds: tuple[int, ...] = (7, 8, 9)
    train_config: TrainConfig = DEFAULT_TRAIN_CONFIG
    model_config: ModelConfig | None = None  # None: the default model's architecture
    strategy_params: dict[str, Any] = field(default_factory=dict)
    broker: BrokerConfig = BrokerConfig()  # noqa: RUF009 - frozen dataclass, safe default
    progress: bool = False


def default_seeds(n: int) -> tuple[int, ...]:
    """``n`` seeds starting at the default model's, so seed 1 is the model backtest.py trades."""
    return tuple(DEFAULT_TRAIN_CONFIG.seed + i for i in range(n))


def oos_log_loss(df: pd.DataFrame, cut: int, artifact: Artifact) -> dict[str, float]:
    """Log-loss and accuracy of the model and of the training prior on the labelled windows
    that end at or after bar ``cut`` (labels look ``horizon`` bars ahead inside ``df``)."""
    spec = artifact.feature_spec
    horizon = artifact.horizon
    flat_band = float(artifact.meta.get("flat_band", DEFAULT_TRAIN_CONFIG.flat_band))
    close = df["close"].to_numpy(dtype=np.float64)
    first_window = warmup_bars(spec) + artifact.seq_len - 1
    first = max(cut, first_window)
    labels = make_labels(close, horizon, flat_band)[first:]
    ok = labels != NO_LABEL
    features = compute_features(df, spec).to_numpy()
    probs = BatchedPredictor(artifact, "cpu", threads=1).probabilities(features, first, len(df))
    model = score(probs[ok], labels[ok])
    # The prior: class frequencies of the labelled training windows (labels of the first part
    # computed from the first part alone, as the trainer saw them).
    train_labels = make_labels(close[:cut], horizon, flat_band)[first_window:]
    counts = np.bincount(train_labels[train_labels != NO_LABEL], minlength=len(CLASS_NAMES))
    prior = np.broadcast_to(counts / counts.sum(), (int(ok.sum()), len(CLASS_NAMES)))
    base = score(np.ascontiguousarray(prior), labels[ok])
    return {
        "windows": int(ok.sum()),
        "model_log_loss": model.log_loss,
        "prior_log_loss": base.log_loss,
        "excess_log_loss": model.log_loss - base.log_loss,
        "model_accuracy": model.accuracy,
        "prior_accuracy": base.accuracy,
    }


@dataclass
class SeedRun:
    seed: int
    artifact_path: str
    cached: bool
    cv_table: dict[str, Any]
    oos: dict[str, float] | None  # the classifier's out-of-sample log-loss
    trading: TradingScore
    rules: dict[str, Any]  # the model's positions beside the rules (beside_rules)


def run_seed(
    name: str, df: pd.DataFrame, cut: int, seed: int, settings: EvalSettings
) -> SeedRun:
    config = dataclasses.replace(settings.train_config, seed=seed)
    model_config = settings.model_config or default_model_config()
    artifact, cached = cached_model(df.iloc[:cut], model_config, config, settings.progress)
    params = {"device": "cpu", "periods_per_year": infer_periods_per_year(df.index)}
    params.update(settings.strategy_params)
    result = run_cerebro(df, artifact, params, settings.broker, trade_start=df.index[cut])
    trading = trading_score(
        result.returns["strategy"], infer_periods_per_year(df.index), len(result.trades)
    )
    cv = artifact.meta.get("cv", {})
    classifier = artifact.model_config.head == "classify"
    comparison = model_beside_rules(
        {name: df}, artifact, df.index[cut],
        allow_short=bool(settings.strategy_params.get("allow_short", False)),
        cost=settings.broker.commission, periods_per_year=infer_periods_per_year(df.index),
        target_vol=float(settings.strategy_params.get("target_vol", 0.15)),
    )
    return SeedRun(
        seed=seed,
        artifact_path=str(artifact.path),
        cached=cached,
        cv_table=cv.get("table", {}) if isinstance(cv, dict) else {},
        oos=oos_log_loss(df, cut, artifact) if classifier else None,
        trading=trading,
        rules=comparison.to_dict(),
    )


def cv_over_seeds(runs: Sequence[SeedRun]) -> dict[str, Any]:
    """{model: {"accuracy": mean/sd, "log_loss": mean/sd}} of each seed's mean over folds."""
    names = [n for n in runs[0].cv_table.get("models", []) if all(
        n in r.cv_table.get("mean", {}) for r in runs
    )]
    metrics = list(runs[0].cv_table["mean"][names[0]]) if names else []
    return {
        n: {metric: mean_sd([r.cv_table["mean"][n][metric] for r in runs]) for metric in metrics}
        for n in names
    }


def rules_over_seeds(runs: Sequence[SeedRun]) -> dict[str, Any]:
    """The portfolio rows of the rule comparison: the model's Sharpe and PSR as mean/sd over
    seeds, each rule's once (they do not depend on the seed), and every seed's verdict."""
    rows: dict[str, Any] = {}
    for run in runs:
        for name, row in run.rules["portfolio"]["scores"].items():
            rows.setdefault(name, []).append(row)
    out: dict[str, Any] = {}
    for name, scores in rows.items():
        out[name] = {
            field: mean_sd([s[field] for s in scores if s[field] is not None])
            for field in ("sharpe", "sharpe_se", "psr", "turnover", "break_even_bps")
            if any(s[field] is not None for s in scores)
        }
    return {
        "scores": out,
        "best_rule": runs[0].rules["best_rule"],
        "verdicts": [r.rules["verdict"] for r in runs],
        "beats_best_rule_with_evidence": [r.rules["beats_best_rule_with_evidence"] for r in runs],
        "has_edge": [r.rules["has_edge"] for r in runs],
    }


def evaluate_dataset(name: str, df: pd.DataFrame, settings: EvalSettings) -> dict[str, Any]:
    """Everything ``evaluate.py`` prints and writes for one data set."""
    cut = split_point(df, settings.train_fraction)
    start = df.index[cut]
    periods_per_year = infer_periods_per_year(df.index)
    runs = []
    for seed in settings.seeds:
        logger.info("%s: seed %d", name, seed)
        runs.append(run_seed(name, df, cut, seed, settings))
    trading = {MODEL_ROW: summarise([r.trading for r in runs])}
    max_position = settings.strategy_params.get("max_position", 0.95)
    for row, strategy in TRADING_BASELINES.items():
        returns, entries = run_trading_baseline(
            df, strategy, settings.broker, start, max_position=max_position,
            periods_per_year=periods_per_year
        )
        trading[row] = summarise([trading_score(returns, periods_per_year, entries)])
    oos_fields = ("model_log_loss", "prior_log_loss", "excess_log_loss", "model_accuracy")
    classifier = all(r.oos is not None for r in runs)
    return {
        "name": name,
        "bars": len(df),
        "train_bars": cut,
        "train_range": [str(df.index[0]), str(df.index[cut - 1])],
        "oos_range": [str(start), str(df.index[-1])],
        "periods_per_year": periods_per_year,
        "seeds": list(settings.seeds),
        "cv": cv_over_seeds(runs),
        "oos_log_loss": (
            {f: mean_sd([r.oos[f] for r in runs if r.oos is not None]) for f in oos_fields}
            if classifier else None
        ),
        "trading": trading,
        "rules": rules_over_seeds(runs),
        "runs": [
            {
                "seed": r.seed,
                "artifact": r.artifact_path,
                "cached": r.cached,
                "cv_table": r.cv_table,
                "oos": r.oos,
                "trading": r.trading.to_dict(),
                "rules": r.rules,
            }
            for r in runs
        ],
    }
