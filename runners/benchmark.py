"""Benchmark the plugin on synthetic bars against a bare backtrader strategy and its targets.

python runners/benchmark.py --bars 100000 --json benchmark.json

Measures, on one synthetic market (minute bars, SYNTHETIC prices) and a model of --model-size
with random weights saved as a real artifact (inference cost does not depend on training): the
backtest in runonce mode against a bare SMA-crossover strategy on the same data, next mode,
the per-bar latency of one ModelSignal step, the batched path alone, the features, and a short
training run on --train-bars bars in a child process (its own peak RSS). Best of --repeat.
The measuring code is ``tests.perf.benchmark``.
"""

from __future__ import annotations

import argparse

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    logging_from_args,
    prog,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce_file, check_file_target


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog("benchmark"), description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--bars", type=int, default=100_000, help="bars of the backtests"
    )
    p.add_argument(
        "--train-bars",
        type=int,
        default=1_000_000,
        help="bars of the training run",
    )
    p.add_argument(
        "--train-steps", type=int, default=200, help="optimiser steps timed"
    )
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
        "model backtest.py and evaluate.py train when no --model is given (hidden 16, 1 layer, "
        "10-bar windows)",
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


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    if not args.train_child:  # the child's stdout is its JSON line
        announce_file("--json", check_file_target("--json", args.json))
    return checkout_benchmark().run_benchmark(args)


def checkout_benchmark():  # type: ignore[no-untyped-def]
    """The measuring code lives in the source checkout (tests/perf), not in the installed
    package."""
    import importlib
    import sys
    from pathlib import Path

    from bt_attention_lstm.models.errors import ConfigError

    root = Path(__file__).resolve().parents[1]
    if not (root / "tests" / "perf" / "benchmark.py").is_file():
        raise ConfigError("the benchmark runs from a source checkout (git clone, pip install -e .)")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("tests.perf.benchmark")


if __name__ == "__main__":
    run_main(main)
