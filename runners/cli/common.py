"""Shared command-line plumbing: one-line errors, exit codes, and the flags every runner spells
the same way (data, --device, --verbose/--quiet, --out).

Only the standard library is imported at module level: a runner parses its arguments before it
imports pandas, torch or backtrader, so ``--help`` and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bt_attention_lstm.models.config import DEVICE_CHOICES
from bt_attention_lstm.models.errors import ConfigError, TrainingError, UserInputError
from bt_attention_lstm.runners.cli.errors import (
    dashed_flags,
    in_flag_words,
    remember_parser,
    translate,
)
from bt_attention_lstm.runners.cli.outputs import out_help
from bt_attention_lstm.runners.research import inputs
from bt_attention_lstm.runners.research.inputs import ISO_HELP

if TYPE_CHECKING:
    import pandas as pd


EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
FORMATS = ("auto", "yahoo", "btcsv", "generic", "parquet", "close", "wide")
TIMEFRAMES = ("1min", "5min", "15min", "30min", "1h", "4h", "1d", "1w")
# The flags of the data checks' parameters (every runner spells them the library's way).
DATA_FLAGS = dashed_flags(
    "data", "start", "end", "timeframe", "allow_timeframe_mismatch", "out", "force"
)


def prog(command: str) -> str:
    """The program name every runner's usage and errors show, however it was started
    (``bt-lstm backtest`` or ``python runners/backtest.py``): the console command's."""
    return f"bt-lstm {command}"


def parse_iso_date(value: str, flag: str = "date") -> str:
    """``value`` when it is an ISO date (``ISO_HELP``); ConfigError naming ``flag`` otherwise."""
    return inputs.parse_iso_date(value, flag)


def iso_date(value: str) -> str:
    """argparse ``type`` of --start/--end: refuses anything but ``ISO_HELP`` (exit 2)."""
    try:
        return parse_iso_date(value)
    except ConfigError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date in ISO form ({ISO_HELP})"
        ) from None


class _DefaultsHelp(argparse.HelpFormatter):
    """Appends "(default: X)" to a flag's help when X says something (not None, False or 0)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, 0, argparse.SUPPRESS) or (
            action.default == 0 and action.type in (int, float)
        )
        if "%(default)" not in text and shown and action.option_strings:
            text += " (default: %(default)s)"
        return text


class _RawDescriptionDefaultsHelp(argparse.RawDescriptionHelpFormatter, _DefaultsHelp):
    """The same, for runners whose description is laid out by hand."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2, and shows defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        formatter = kwargs.get("formatter_class")
        if formatter is argparse.RawDescriptionHelpFormatter:
            kwargs["formatter_class"] = _RawDescriptionDefaultsHelp
        elif formatter is None:
            kwargs["formatter_class"] = _DefaultsHelp
        super().__init__(*args, **kwargs)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        # the command's errors name its flags from here on (runners.cli.errors.translate)
        remember_parser(self)
        return super().parse_known_args(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_data_args(
    parser: argparse.ArgumentParser,
    multiple: bool = False,
    timeframe_check: bool = True,
    start_help: str = "first date of the data to use, inclusive",
    end_help: str = "last date of the data to use, inclusive",
) -> None:
    """--data and its companions. ``multiple``: --data is repeatable (one model trained on
    several symbols). ``timeframe_check``: offer --allow-timeframe-mismatch (runners that trade
    a given model, or train on several files); walk-forward and sweep train every model on the
    bars they trade, so no mismatch can arise there. ``start_help``/``end_help``: what --start
    and --end mean to this runner."""
    group = parser.add_argument_group("data")
    if multiple:
        group.add_argument(
            "--data",
            action="append",
            metavar="PATH",
            help="OHLCV file (Yahoo CSV, backtrader CSV, generic CSV or parquet), a close-only "
            "file (date, close), a wide price file (date + one close column per symbol: every "
            "symbol) or PATH#SYMBOL (one of its columns), or a folder of them; repeat it to "
            "train one model on several symbols. Without it: the built-in "
            "synthetic market",
        )
    else:
        group.add_argument(
            "--data",
            metavar="PATH",
            help="OHLCV file (Yahoo CSV, backtrader CSV, generic CSV or parquet), a close-only "
            "file (date, close), or PATH#SYMBOL (one column of a wide price file). Without it: "
            "the built-in synthetic market",
        )
    group.add_argument(
        "--format", default="auto", choices=FORMATS,
        help="how to read --data; auto detects it from the header",
    )
    group.add_argument(
        "--symbol",
        metavar="TICKER",
        help="download TICKER's daily bars through yfinance instead of --data (cached under "
        "$XDG_CACHE_HOME/bt-attention-lstm; offline, the newest cached copy is used)",
    )
    group.add_argument(
        "--start", metavar="DATE", type=iso_date, help=f"{start_help} ({ISO_HELP})"
    )
    group.add_argument("--end", metavar="DATE", type=iso_date, help=f"{end_help} ({ISO_HELP})")
    group.add_argument(
        "--timeframe",
        choices=TIMEFRAMES,
        help="resample the bars to this coarser size before features are computed",
    )
    if not timeframe_check:
        return
    group.add_argument(
        "--allow-timeframe-mismatch",
        action="store_true",
        help="train one model on files of different bar sizes; a warning is still logged"
        if multiple
        else "run although the data's bar size differs from the one the model was trained on "
        "(its meta.json); a warning is still logged",
    )


def add_common_args(parser: argparse.ArgumentParser, device_help: str = "inference") -> None:
    """--device, --verbose and --quiet, with the same names and defaults in every runner."""
    group = parser.add_argument_group("run")
    group.add_argument(
        "--device",
        default="auto",
        choices=DEVICE_CHOICES,
        help=f"device for {device_help}: auto picks CUDA when a GPU is available, else the CPU",
    )
    loud = group.add_mutually_exclusive_group()
    loud.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log what the library does (INFO; twice for DEBUG)",
    )
    loud.add_argument(
        "-q", "--quiet", action="count", default=0,
        help="no plan line and no progress bars, only results and paths (twice: also no "
        "warnings, errors only)",
    )


def add_out_arg(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, what: str, command: str
) -> None:
    """--out DIR: the run directory (``runners.cli.outputs``: a new folder under the runs root
    unless given)."""
    parser.add_argument("--out", metavar="DIR", help=out_help(what, command))


def check_date_range(args: argparse.Namespace) -> None:
    """--start/--end must be ISO dates, and --start must not come after --end."""
    with in_flag_words(DATA_FLAGS):
        inputs.check_date_range(getattr(args, "start", None), getattr(args, "end", None))


def prepare_out_dir(
    out: str | os.PathLike[str] | None, force: bool | None = None, command: str = "run"
) -> Path:
    """The output directory, checked before any work is done (``research.inputs``): new or
    empty (or ``force``), in a writable place; without ``out`` a new run directory of
    ``command``. ``force=None``: the runner has no --force flag. The path is absolute."""
    with in_flag_words(DATA_FLAGS):
        return inputs.prepare_out_dir(out, force, command)


def load_frames(args: argparse.Namespace) -> list[pd.DataFrame]:
    """The data the flags ask for (``research.inputs.load_frames``): files, a downloaded
    symbol, or the synthetic market; one frame per symbol when --data is repeatable (a list)."""
    with in_flag_words(DATA_FLAGS):
        return inputs.load_frames(
            args.data, format=args.format, symbol=args.symbol, start=args.start, end=args.end,
            timeframe=args.timeframe,
        )


def configure_logging(verbose: bool | int = False, quiet: bool | int = False) -> None:
    """WARNING by default; ``verbose`` INFO (2: DEBUG); ``quiet`` 2: errors only (as pip's -qq;
    one -q only hides progress bars, which the runners handle)."""
    level = logging.WARNING
    if int(quiet) > 1:
        level = logging.ERROR
    elif verbose:
        level = logging.DEBUG if int(verbose) > 1 else logging.INFO
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger().setLevel(level)
    for noisy in ("matplotlib", "matplotlib.font_manager", "PIL", "yfinance", "urllib3", "peewee"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def logging_from_args(args: argparse.Namespace) -> None:
    configure_logging(getattr(args, "verbose", False), getattr(args, "quiet", False))


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _figures_to_files() -> None:
    """Runners only draw into files: matplotlib's Agg backend, set by the runner and not by the
    library (importing the plugin never changes a notebook's or GUI's backend)."""
    os.environ["MPLBACKEND"] = "Agg"  # read when matplotlib is first imported
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")


def run_main(main: Callable[[], int]) -> NoReturn:
    """Run a runner's main: bad input -> one line + exit 2 (the library's backticked parameter
    names as the command's flags: ``runners.cli.errors``), bug -> traceback + exit 1.

    SIGTERM is turned into KeyboardInterrupt so that every writer's cleanup (temporary
    directories) runs and nothing half-written is left behind.
    """
    signal.signal(signal.SIGTERM, _raise_interrupt)
    _figures_to_files()
    try:
        code = main()
    except (UserInputError, TrainingError) as exc:
        print(f"error: {translate(str(exc))}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        code = 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: report, exit 1
        traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = EXIT_INTERNAL
    sys.exit(code)
