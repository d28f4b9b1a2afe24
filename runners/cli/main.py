"""``bt-lstm``: one console entry point over the runners (``bt-lstm backtest --help``).

Each subcommand is the runner of the same name in ``bt_attention_lstm.runners``; only the chosen
one is imported, so ``bt-lstm --help`` answers at once.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

COMMANDS: dict[str, str] = {
    "train": "train an AttentionLSTM with nested time-series CV and write an artifact",
    "backtest": "backtest a model and write a tear sheet, metrics, trades and a chart",
    "evaluate": "does the model earn its place? honest CV and out-of-sample trading vs baselines",
    "audit": "causality, overlap, PSR and surrogate checks of a model on your data",
    "walkforward": "retrain on rolling windows and stitch one out-of-sample report",
    "sweep": "hyperparameter search (Ray Tune) scored on walk-forward out-of-sample Sharpe",
    "paper": "rehearse live trading: replay a CSV through a live-like feed",
    "benchmark": "measure features, inference, backtest and training speed",
}


def version() -> str:
    """The installed distribution's version (importlib.metadata)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("bt-attention-lstm")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return (
        "usage: bt-lstm COMMAND [options]   (bt-lstm COMMAND --help for its options)\n"
        "       bt-lstm --version\n\n"
        "commands:\n" + "\n".join(lines) + "\n\n"
        "Runs write into a new folder under $XDG_DATA_HOME/bt-attention-lstm/runs "
        "(~/.local/share/...), or --out DIR.\n"
    )


def main(argv: list[str] | None = None) -> NoReturn:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(_usage())
        sys.exit(0)
    if args[0] in ("-V", "--version"):
        sys.stdout.write(f"bt-lstm {version()}\n")
        sys.exit(0)
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        sys.stderr.write(f"bt-lstm: error: unknown command {command!r} (see bt-lstm --help)\n")
        sys.exit(2)
    try:
        module = importlib.import_module(f"bt_attention_lstm.runners.{command}")
    except ModuleNotFoundError as exc:
        if exc.name != f"bt_attention_lstm.runners.{command}":
            raise
        sys.stderr.write(f"bt-lstm: error: command {command!r} is not available yet\n")
        sys.exit(2)
    from bt_attention_lstm.runners.cli.common import run_main

    sys.argv = [f"bt-lstm {command}", *rest]
    run_main(module.main)


if __name__ == "__main__":
    main()
