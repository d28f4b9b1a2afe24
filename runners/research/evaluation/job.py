"""The evaluate.py job: data sets in, tables printed, JSON written atomically."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import platform
import sys
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.data import infer_periods_per_year
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.cli.trading_args import broker_from_args, strategy_params
from bt_attention_lstm.runners.research.audit.job import write_json
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_TRAIN_CONFIG,
    default_model_config,
    split_point,
)
from bt_attention_lstm.runners.research.evaluation.core import (
    EvalSettings,
    default_seeds,
    evaluate_dataset,
)
from bt_attention_lstm.runners.research.evaluation.datasets import load_dataset
from bt_attention_lstm.runners.research.evaluation.report import dataset_lines

logger = logging.getLogger(__name__)


def settings_from_args(args: argparse.Namespace) -> EvalSettings:
    if args.seeds < 1:
        raise ConfigError("--seeds must be >= 1")
    params = strategy_params(args, 252.0)
    for key in ("device", "periods_per_year"):  # set per data set / CPU inference
        params.pop(key)
    train = dataclasses.replace(DEFAULT_TRAIN_CONFIG, device=args.device)
    return EvalSettings(
        train_fraction=args.train_fraction,
        seeds=default_seeds(args.seeds),
        train_config=train,
        strategy_params=params,
        broker=broker_from_args(args),
        progress=not args.quiet,
    )


def run_evaluation(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise ConfigError(f"--json {args.json}: its folder does not exist")
    frames = [load_dataset(spec, args.format) for spec in args.data]
    for _, df in frames:  # every data set is checked before any training
        split_point(df, settings.train_fraction)
        infer_periods_per_year(df.index)
    results = []
    for name, df in frames:
        result = evaluate_dataset(name, df, settings)
        results.append(result)
        print("\n".join(dataset_lines(result)), end="\n\n", flush=True)
    if args.json:
        write_json(Path(args.json), report_json(results, settings, args))
        print(f"json: {args.json}")
    return 0


def report_json(results: list[dict[str, Any]], settings: EvalSettings,
                args: argparse.Namespace) -> dict[str, Any]:
    return {
        "command": " ".join(["runners/evaluate.py", *sys.argv[1:]]),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "python": platform.python_version()},
        "settings": {
            "train_fraction": settings.train_fraction,
            "seeds": list(settings.seeds),
            "train_config": settings.train_config.to_dict(),
            "model_config": default_model_config().to_dict(),
            "strategy": settings.strategy_params,
            "broker": dataclasses.asdict(settings.broker),
        },
        "datasets": results,
    }
