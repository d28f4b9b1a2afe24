"""The evaluation of the default model over data sets: every data set checked, then each
evaluated in turn (``core.evaluate_dataset``), and the JSON written atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.data import infer_periods_per_year
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.research.audit.json_file import check_json_target, write_json
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_TRAIN_CONFIG,
    default_model_config,
    split_point,
)
from bt_attention_lstm.runners.research.evaluation.config import EvaluateConfig
from bt_attention_lstm.runners.research.evaluation.core import (
    EvalSettings,
    default_seeds,
    evaluate_dataset,
)
from bt_attention_lstm.runners.research.evaluation.datasets import load_dataset

logger = logging.getLogger(__name__)

# set by the evaluation per data set (the bars' periods per year; inference on the CPU)
OWN_STRATEGY_PARAMS = ("device", "periods_per_year")


@dataclass(frozen=True)
class EvaluationResult:
    """Every figure of an evaluation (``report``: the JSON document, whose ``datasets`` hold one
    entry per data set, as ``report.dataset_text`` words it) and where the JSON went."""

    report: dict[str, Any]
    json_path: Path | None = None

    @property
    def datasets(self) -> list[dict[str, Any]]:
        return list(self.report["datasets"])


def settings_for(config: EvaluateConfig) -> EvalSettings:
    """What every data set of ``config`` is evaluated with; ConfigError for bad values."""
    if config.seeds < 1:
        raise ConfigError(f"`seeds` must be >= 1, got {config.seeds}")
    params = {k: v for k, v in config.strategy_params.items() if k not in OWN_STRATEGY_PARAMS}
    train = config.train_config or dataclasses.replace(DEFAULT_TRAIN_CONFIG, device=config.device)
    return EvalSettings(
        train_fraction=config.train_fraction,
        seeds=default_seeds(config.seeds),
        train_config=train,
        model_config=config.model_config,
        strategy_params=params,
        broker=config.broker,
        progress=config.progress,
    )


def run_evaluation(
    config: EvaluateConfig,
    on_dataset: Callable[[dict[str, Any]], None] | None = None,
) -> EvaluationResult:
    """Evaluate the default model on every data set of ``config``. Every data set is loaded and
    checked before any training; ``on_dataset`` is called with each one's figures as soon as
    they are known (a command prints them there)."""
    settings = settings_for(config)
    check_json_target(config.json_path)
    frames = [load_dataset(spec, config.format) for spec in config.data]
    for _, df in frames:
        split_point(df, settings.train_fraction)
        infer_periods_per_year(df.index)
    results = []
    for name, df in frames:
        result = evaluate_dataset(name, df, settings)
        results.append(result)
        if on_dataset is not None:
            on_dataset(result)
    report = report_json(results, settings, config.command)
    if config.json_path is not None:
        write_json(config.json_path, report)
        logger.info("evaluation written to %s", config.json_path)
    return EvaluationResult(report, config.json_path)


def report_json(results: Sequence[dict[str, Any]], settings: EvalSettings,
                command: str | None = None) -> dict[str, Any]:
    """The JSON document: how it was run (command, time, machine, settings) and the results."""
    return {
        "command": command,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "python": platform.python_version()},
        "settings": {
            "train_fraction": settings.train_fraction,
            "seeds": list(settings.seeds),
            "train_config": settings.train_config.to_dict(),
            "model_config": (settings.model_config or default_model_config()).to_dict(),
            "strategy": settings.strategy_params,
            "broker": dataclasses.asdict(settings.broker),
        },
        "datasets": list(results),
    }
