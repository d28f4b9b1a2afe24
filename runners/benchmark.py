"""Benchmark the plugin on synthetic bars against a bare backtrader strategy and its targets.

python runners/benchmark.py --bars 100000 --json benchmark.json

Measures, on one synthetic market (minute bars, SYNTHETIC prices) and a model of --model-size
with random weights saved as a real artifact (inference cost does not depend on training): the
backtest in runonce mode against a bare SMA-crossover strategy on the same data, next mode,
the per-bar latency of one live bar, the batched path alone, the features, and a short
training run on --train-bars bars in a child process (its own peak RSS). Best of --repeat.
The measuring code is the source checkout's ``tests/perf`` (``tests.perf.benchmark``); from an
installed package without it the command says so and exits 2.
"""

from __future__ import annotations

from pathlib import Path

from bt_attention_lstm.runners.cli.common import logging_from_args, run_main
from bt_attention_lstm.runners.cli.outputs import announce_file, check_file_target
from bt_attention_lstm.runners.cli.perf_args import build_parser, checkout_harness

__all__ = ["build_parser", "main"]


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    harness = checkout_harness(Path(__file__))
    harness.settings_from_args(args).check()  # bad settings: one line, before any output
    if not args.train_child:  # the child's stdout is its JSON line
        announce_file("--json", check_file_target("--json", args.json))
    code: int = harness.run_benchmark(args)
    return code


if __name__ == "__main__":
    run_main(main)
