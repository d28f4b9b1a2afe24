"""The measurements behind ``bt-lstm benchmark``: the plugin on synthetic bars against a bare
backtrader strategy, and against its targets.

    python runners/benchmark.py --bars 100000 --json benchmark.json

On one synthetic market (minute bars, SYNTHETIC prices) and a model of ``--model-size`` with
random weights saved as a real artifact: the features, the model's paths alone
(``inference``), the per-bar cost of a live bar end to end (``bar_latency``), the backtest in
runonce mode against a bare SMA crossover and in next mode (``backtests``), and a short training
run in a child process (``training``); the figures against their targets (``report``). Best of
``repeat``. Only the package's public API is used.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.errors import ConfigError
from tests.perf.backtests import bench_backtests, bench_next_mode
from tests.perf.inference import bench_features, bench_model_paths
from tests.perf.model_under_test import ensemble_for, model_config_for, random_artifact
from tests.perf.report import (
    check_targets,
    idle_estimates,
    machine_facts,
    table_lines,
    targets_for,
    write_json,
)
from tests.perf.timing import market
from tests.perf.training import PANEL_FILE, bench_training, train_child

MIN_BARS = 1000


@dataclass(frozen=True)
class BenchmarkSettings:
    """What to measure: ``bars`` of backtests (next mode: ``next_bars`` of them), a training run
    of ``train_steps`` steps on ``train_bars`` bars, the model's size and members, best of
    ``repeat``, on ``device``."""

    bars: int = 100_000
    train_bars: int = 1_000_000
    train_steps: int = 200
    next_bars: int = 3000
    model_size: str = "design"
    ensemble: int | None = None
    repeat: int = 3
    device: str = "auto"

    def check(self) -> None:
        for name, low in (("bars", MIN_BARS), ("train_bars", MIN_BARS), ("train_steps", 1),
                          ("next_bars", MIN_BARS // 2), ("repeat", 1)):
            if getattr(self, name) < low:
                raise ConfigError(f"`{name}` must be at least {low}")
        if self.ensemble is not None and self.ensemble < 1:
            raise ConfigError("`ensemble` must be at least 1")


def measure(settings: BenchmarkSettings) -> dict[str, Any]:
    """Every figure, the machine's facts and which targets were met."""
    settings.check()
    device = resolve_device(settings.device)
    results = machine_facts(device)
    model_config = model_config_for(settings.model_size)
    members = ensemble_for(settings.model_size, settings.ensemble)
    results["model_size"] = settings.model_size
    results["model_config"] = model_config.to_dict()
    results["ensemble"] = members
    df = market(settings.bars)
    repeat = settings.repeat
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        artifact = random_artifact(df, Path(tmp) / "model", model_config, members)
        results.update(bench_features(df, repeat))
        results.update(bench_model_paths(df, artifact, device, repeat))
        threshold = results["strategy_threshold"]
        results.update(bench_backtests(df, artifact, device, repeat, threshold))
        next_df = df.iloc[: min(settings.next_bars, settings.bars)]
        results.update(bench_next_mode(next_df, artifact, device, min(repeat, 2), threshold))
    size, bars, steps = settings.model_size, settings.train_bars, settings.train_steps
    results.update(bench_training(bars, steps, device, size))
    if PANEL_FILE.is_file():  # the shipped 10-stock panel
        panel = bench_training(bars, steps, device, size, panel=True)
        results.update({f"panel_{k}": v for k, v in panel.items()})
    results.update(idle_estimates(results, len(df)))
    results["load_average_end"] = list(os.getloadavg())
    targets = targets_for(settings.model_size)
    results["targets"] = {k: {"direction": d, "value": v} for k, (d, v) in targets.items()}
    results["targets_met"] = check_targets(results)
    return results


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    return BenchmarkSettings(
        bars=args.bars, train_bars=args.train_bars, train_steps=args.train_steps,
        next_bars=args.next_bars, model_size=args.model_size, ensemble=args.ensemble,
        repeat=args.repeat, device=args.device,
    )


def run_benchmark(args: argparse.Namespace) -> int:
    """``bt-lstm benchmark``'s work for parsed arguments: print the table, write --json. With
    --train-child, only the training run, its figures as one JSON line (for the parent)."""
    settings = settings_from_args(args)
    if args.train_child:
        settings.check()
        device = resolve_device(settings.device).type
        figures = train_child(settings.train_bars, settings.train_steps, device,
                              settings.model_size, args.train_panel)
        print(json.dumps(figures))
        return 0
    results = measure(settings)
    print("\n".join(table_lines(results)))
    if args.json:
        write_json(args.json, results)
    return 0
