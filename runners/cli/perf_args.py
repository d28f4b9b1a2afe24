"""``bt-lstm benchmark``'s parser, and where its measuring code lives: the source checkout's
``tests/perf`` (it is not part of the installed package)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.cli.common import OneLineParser, add_common_args, prog

BENCHMARK_DESCRIPTION = (
    "Benchmark the plugin on synthetic bars against a bare backtrader strategy and its targets."
)
HARNESS = Path("tests") / "perf" / "benchmark.py"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog("benchmark"), description=BENCHMARK_DESCRIPTION)
    p.add_argument("--bars", type=int, default=100_000, help="bars of the backtests")
    p.add_argument(
        "--train-bars", type=int, default=1_000_000, help="bars of the training run"
    )
    p.add_argument("--train-steps", type=int, default=200, help="optimiser steps timed")
    p.add_argument(
        "--next-bars",
        type=int,
        default=3000,
        help="bars of the next-mode backtest, capped at --bars",
    )
    p.add_argument(
        "--model-size",
        choices=("design", "small"),
        default="design",
        help="design: train.py's default architecture (LSTM 128 x 2, 20-bar windows); small: the "
        "model backtest.py and evaluate.py train when no --model is given "
        "(runners/research/default_model.py: hidden 16, 1 layer, 20-bar windows)",
    )
    p.add_argument(
        "--ensemble",
        type=int,
        default=None,
        metavar="K",
        help="members of the model, their probabilities averaged (default: 1 for design, the "
        "default model's for small)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per timing; the best is kept")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    add_common_args(p, device_help="inference and training")
    p.add_argument("--train-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--train-panel", action="store_true", help=argparse.SUPPRESS)
    return p


def checkout_root(start: Path) -> Path | None:
    """The source checkout holding ``start`` (a file of the package), or None when the package
    is installed outside one (then there is no harness to run)."""
    for folder in start.resolve().parents:
        if (folder / HARNESS).is_file() and (folder / "setup.cfg").is_file():
            return folder
    return None


def checkout_harness(start: Path) -> ModuleType:
    """``tests.perf.benchmark`` of the checkout holding ``start``; ConfigError (one line, exit
    2) from an installed package."""
    root = checkout_root(start)
    if root is None:
        raise ConfigError(
            "the benchmark runs from a source checkout (git clone, then pip install -e .): "
            f"this installation has no {HARNESS.as_posix()}"
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("tests.perf.benchmark")
