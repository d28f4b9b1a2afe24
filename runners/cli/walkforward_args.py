"""Command-line groups shared by walkforward.py and sweep.py: folds, engine, broker."""

from __future__ import annotations

import argparse

from bt_attention_lstm.runners.research.engines import ENGINE_CHOICES


def add_fold_args(
    p: argparse.ArgumentParser, train_bars: int | None = None, test_bars: int | None = None
) -> None:
    """--train-bars/--test-bars (required unless defaults are given), --step, --expanding."""
    g = p.add_argument_group("walk-forward folds")
    g.add_argument(
        "--train-bars",
        type=int,
        required=train_bars is None,
        default=train_bars,
        metavar="N",
        help="bars each fold trains on (the first N with --expanding)"
        + (" (default: %(default)s)" if train_bars else ""),
    )
    g.add_argument(
        "--test-bars",
        type=int,
        required=test_bars is None,
        default=test_bars,
        metavar="M",
        help="bars each fold trades, out of sample"
        + (" (default: %(default)s)" if test_bars else ""),
    )
    g.add_argument(
        "--step",
        type=int,
        metavar="S",
        help="bars between test windows (default: --test-bars, back to back; must be >= it)",
    )
    g.add_argument(
        "--expanding",
        action="store_true",
        help="train every fold on all bars from the start (default: a rolling window of N)",
    )


def add_engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="local",
        help="local: a process pool on this machine; ray: a local Ray with this machine's cores, "
        "or the cluster at --address (pip install -e \".[distributed]\") (default: %(default)s)",
    )
    g.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster to join: auto, HOST:PORT or ray://HOST:PORT (default: start one)",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="K",
        help="jobs running at once (default: every core / every CPU of the Ray cluster)",
    )
