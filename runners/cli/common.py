"""Shared command-line plumbing: one-line errors, exit codes, data arguments, signals."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

import pandas as pd

from bt_attention_lstm.models.data import load_ohlcv, resample_ohlcv, select_range, validate_ohlcv
from bt_attention_lstm.models.errors import TrainingError, UserInputError
from bt_attention_lstm.models.synthetic import synthetic_market

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
FORMATS = ("auto", "yahoo", "btcsv", "generic", "parquet")
TIMEFRAMES = ("1min", "5min", "15min", "30min", "1h", "4h", "1d", "1w")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_data_args(parser: argparse.ArgumentParser, multiple: bool = False) -> None:
    group = parser.add_argument_group("data")
    if multiple:
        group.add_argument(
            "--data",
            action="append",
            metavar="PATH",
            help="OHLCV file (Yahoo CSV, backtrader CSV, generic CSV or parquet); repeat it to "
            "train on several symbols. Default: the built-in synthetic market",
        )
    else:
        group.add_argument(
            "--data",
            metavar="PATH",
            help="OHLCV file (Yahoo CSV, backtrader CSV, generic CSV or parquet). "
            "Default: the built-in synthetic market",
        )
    group.add_argument(
        "--format", default="auto", choices=FORMATS, help="file format (default: auto)"
    )
    group.add_argument(
        "--symbol",
        metavar="TICKER",
        help="download TICKER through yfinance (cached); needs network access",
    )
    group.add_argument("--start", metavar="DATE", help="first date to use (inclusive)")
    group.add_argument("--end", metavar="DATE", help="last date to use (inclusive)")
    group.add_argument(
        "--timeframe",
        choices=TIMEFRAMES,
        help="resample to this coarser bar size before computing features",
    )


def load_frames(args: argparse.Namespace) -> list[pd.DataFrame]:
    """The data the user asked for: files, a downloaded symbol, or the synthetic market."""
    paths: Sequence[str] = (
        args.data if isinstance(args.data, list) else ([args.data] if args.data else [])
    )
    if args.symbol:
        from bt_attention_lstm.models.data import download_symbol

        frames = [download_symbol(args.symbol)]
    elif paths:
        frames = [load_ohlcv(p, args.format) for p in paths]
    else:
        frames = [synthetic_market()]
    out = []
    for df in frames:
        attrs = dict(df.attrs)
        if args.timeframe:
            df = resample_ohlcv(df, args.timeframe)
        df = select_range(df, args.start, args.end)
        df.attrs.update(attrs)
        out.append(df)
    return out


def require_bars(df: pd.DataFrame, needed: int, reason: str) -> pd.DataFrame:
    return validate_ohlcv(df, min_bars=needed, reason=reason)


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("matplotlib", "matplotlib.font_manager", "PIL", "yfinance", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_main(main: Callable[[], int]) -> NoReturn:
    """Run a runner's main: bad input -> one line + exit 2, bug -> traceback + exit 1.

    SIGTERM is turned into KeyboardInterrupt so that every writer's cleanup (temporary
    directories) runs and nothing half-written is left behind.
    """
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        code = main()
    except (UserInputError, TrainingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        code = 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: report, exit 1
        traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = EXIT_INTERNAL
    sys.exit(code)
