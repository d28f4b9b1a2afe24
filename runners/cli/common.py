"""Shared command-line plumbing: one-line errors, exit codes, and the flags every runner spells
the same way (data, --device, --verbose/--quiet, --out).

Only the standard library is imported at module level: a runner parses its arguments before it
imports pandas, torch or backtrader, so ``--help`` and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bt_attention_lstm.models.config import DEVICE_CHOICES
from bt_attention_lstm.models.errors import ConfigError, TrainingError, UserInputError
from bt_attention_lstm.runners.cli.outputs import default_run_dir, out_help

if TYPE_CHECKING:
    import pandas as pd

    from bt_attention_lstm.models.artifact import Artifact

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
FORMATS = ("auto", "yahoo", "btcsv", "generic", "parquet", "close", "wide")
TIMEFRAMES = ("1min", "5min", "15min", "30min", "1h", "4h", "1d", "1w")
# YYYY-MM-DD, optionally with a time (T or a space, HH:MM, :SS, fractions): nothing else, so
# that 03/02/2010 (March 2 or February 3?) is refused instead of read one way silently
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")
ISO_HELP = "YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS] for intraday bars"


def prog(command: str) -> str:
    """The program name every runner's usage and errors show, however it was started
    (``bt-lstm backtest`` or ``python runners/backtest.py``): the console command's."""
    return f"bt-lstm {command}"


def parse_iso_date(value: str, flag: str = "date") -> str:
    """``value`` when it is an ISO date (``ISO_HELP``); ConfigError otherwise."""
    from datetime import datetime

    text = str(value).strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{flag} {value!r} is not a date in ISO form ({ISO_HELP})") from None
    return text


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

    def __init__(self, *args: object, **kwargs: object) -> None:
        formatter = kwargs.get("formatter_class")
        if formatter is argparse.RawDescriptionHelpFormatter:
            kwargs["formatter_class"] = _RawDescriptionDefaultsHelp
        elif formatter is None:
            kwargs["formatter_class"] = _DefaultsHelp
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_data_args(
    parser: argparse.ArgumentParser,
    multiple: bool = False,
    bar_size_check: bool = True,
    start_help: str = "first date of the data to use, inclusive",
    end_help: str = "last date of the data to use, inclusive",
) -> None:
    """--data and its companions. ``multiple``: --data is repeatable (one model trained on
    several symbols). ``bar_size_check``: offer --allow-timeframe-mismatch (runners that trade
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
    if not bar_size_check:
        return
    group.add_argument(
        "--allow-timeframe-mismatch",
        action="store_true",
        help="train one model on files of different bar sizes; a warning is still logged"
        if multiple
        else "run although the data's bar size differs from the one the model was trained on "
        "(its meta.json); a warning is still logged",
    )


def check_data_kind(artifact: Artifact, df: pd.DataFrame) -> None:
    """Refuse (ConfigError, exit 2) close-only data for a model whose inputs read high, low or
    volume, or OHLCV bars for such a model trained on closes only."""
    problem = artifact.feature_spec.data_mismatch(
        bool(artifact.meta.get("close_only", False)), bool(df.attrs.get("close_only", False))
    )
    if problem is not None:
        raise ConfigError(problem)


def check_bar_size(meta: dict[str, object], df: pd.DataFrame, allow: bool) -> None:
    """Refuse (ConfigError, exit 2) data whose bar size is not the model's, unless allowed."""
    from bt_attention_lstm.models.data import infer_timeframe
    from bt_attention_lstm.models.data.bar_size import bar_size_mismatch

    problem = bar_size_mismatch(meta, infer_timeframe(df.index))
    if problem is None:
        return
    if not allow:
        raise ConfigError(
            f"{problem}; resample with --timeframe, use a model trained on these bars, or pass "
            "--allow-timeframe-mismatch"
        )
    logging.getLogger(__name__).warning("%s (--allow-timeframe-mismatch)", problem)


def check_training_bar_sizes(frames: Sequence[pd.DataFrame], allow: bool) -> None:
    """Refuse (DataError, exit 2) training files of different bar sizes, unless allowed."""
    from bt_attention_lstm.models.data.bar_size import require_one_bar_size
    from bt_attention_lstm.models.errors import DataError

    try:
        require_one_bar_size(frames)
    except DataError as exc:
        if not allow:
            raise DataError(f"{exc} (or pass --allow-timeframe-mismatch)") from None
        logging.getLogger(__name__).warning("%s (--allow-timeframe-mismatch)", exc)


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
    import pandas as pd


    stamps = {}
    for flag in ("start", "end"):
        value = getattr(args, flag, None)
        if value is None:
            continue
        stamps[flag] = pd.Timestamp(parse_iso_date(value, f"--{flag}"))
    if len(stamps) == 2 and stamps["start"] > stamps["end"]:
        raise ConfigError(f"--start {args.start} is after --end {args.end}")


def prepare_out_dir(
    out: str | os.PathLike[str] | None, force: bool | None = None, command: str = "run"
) -> Path:
    """The output directory, checked before any work is done: it must be new or empty (or
    ``force`` is true), and every existing part of its path must be a writable directory.
    ``force=None``: the runner has no --force flag. Without ``out``: a new run directory of
    ``command`` (``runners.cli.outputs.default_run_dir``). The path returned is absolute."""
    path = default_run_dir(command) if out is None else Path(out).expanduser().absolute()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"--out {path} is a file, not a directory")
        if not force and any(path.iterdir()):
            raise ConfigError(
                f"--out {path} already exists and is not empty; choose a new directory"
                + (" or add --force" if force is not None else "")
            )
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"--out {path}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {path}: {ancestor} is not writable")
    return path


def load_frames(args: argparse.Namespace) -> list[pd.DataFrame]:
    """The data the user asked for: files, a downloaded symbol, or the synthetic market.

    A runner that trains on several symbols (``--data`` repeatable, a list here) gets one frame
    per symbol: every file of a folder, every column of a wide price file, each
    ``path#SYMBOL``. A single-series runner gets one frame; a wide file there must name its
    symbol (``path#SYMBOL``), else the DataError lists the symbols.
    """
    from bt_attention_lstm.models.data import (
        load_ohlcv,
        load_sources,
        resample_ohlcv,
        select_range,
    )
    from bt_attention_lstm.models.data.synthetic import synthetic_market

    check_date_range(args)
    if args.symbol:
        from bt_attention_lstm.models.data import download_symbol

        frames = [download_symbol(args.symbol)]
    elif isinstance(args.data, list) and args.data:
        from bt_attention_lstm.models.training.multi_symbol import expand_data_paths

        frames = load_sources(expand_data_paths(args.data), args.format)
    elif args.data:
        frames = [load_ohlcv(args.data, args.format)]
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
    from bt_attention_lstm.models.data import validate_ohlcv

    return validate_ohlcv(df, min_bars=needed, reason=reason)


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
    """Run a runner's main: bad input -> one line + exit 2, bug -> traceback + exit 1.

    SIGTERM is turned into KeyboardInterrupt so that every writer's cleanup (temporary
    directories) runs and nothing half-written is left behind.
    """
    signal.signal(signal.SIGTERM, _raise_interrupt)
    _figures_to_files()
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
