"""A workflow's inputs, loaded and checked before any work: dates, bars, the model's fit to the
bars, and the run folder.

Standard library at module level (pandas and the loaders are imported when used): the command
line checks dates with it while it parses.

Every check raises ``ConfigError`` or ``DataError`` (bad input, one line naming the parameter in
backticks) before anything is written, so a refused run leaves nothing half-done.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.models.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from bt_attention_lstm.models.artifact import Artifact

logger = logging.getLogger(__name__)

# YYYY-MM-DD, optionally with a time (T or a space, HH:MM, :SS, fractions): nothing else, so
# that 03/02/2010 (March 2 or February 3?) is refused instead of read one way silently
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")
ISO_HELP = "YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS] for intraday bars"


def parse_iso_date(value: str, label: str = "date") -> str:
    """``value`` when it is an ISO date (``ISO_HELP``); ConfigError otherwise. ``label`` names
    the value in the message as given (a parameter in backticks: "`start`")."""
    text = str(value).strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{label} {value!r} is not a date in ISO form ({ISO_HELP})") from None
    return text


def check_date_range(start: str | None, end: str | None) -> None:
    """``start`` and ``end`` (either may be None) are ISO dates, ``start`` not after ``end``."""
    import pandas as pd

    stamps = {
        name: pd.Timestamp(parse_iso_date(value, f"`{name}`"))
        for name, value in (("start", start), ("end", end))
        if value is not None
    }
    if len(stamps) == 2 and stamps["start"] > stamps["end"]:
        raise ConfigError(f"`start` {start} is after `end` {end}")


def load_frames(
    data: str | Sequence[str] | None,
    *,
    format: str = "auto",  # noqa: A002 - the loaders' own name for it
    symbol: str | None = None,
    start: str | None = None,
    end: str | None = None,
    timeframe: str | None = None,
) -> list[pd.DataFrame]:
    """The bars asked for: ``data`` files (a path, ``sample:FILE``, ``FILE#SYMBOL``), the daily
    bars of a downloaded ``symbol``, or the built-in synthetic market (neither given).

    A sequence of sources (several symbols for one model) gives one frame per symbol: every file
    of a folder, every column of a wide price file, each ``path#SYMBOL``. A single source gives
    one frame; a wide file there must name its symbol (``path#SYMBOL``), else the DataError
    lists the symbols. ``timeframe`` resamples the bars; ``start``/``end`` select them.
    """
    from bt_attention_lstm.models.data import (
        load_ohlcv,
        load_sources,
        resample_ohlcv,
        select_range,
    )

    check_date_range(start, end)
    if symbol:
        from bt_attention_lstm.models.data import download_symbol

        frames = [download_symbol(symbol)]
    elif data is not None and not isinstance(data, str):
        if not data:
            raise ConfigError("`data` is an empty list: give a source, or None for synthetic data")
        frames = load_sources(expand_sources(data), format)
    elif data:
        frames = [load_ohlcv(data, format)]
    else:
        from bt_attention_lstm.models.data.synthetic import synthetic_market

        frames = [synthetic_market()]
    out = []
    for df in frames:
        attrs = dict(df.attrs)
        if timeframe:
            df = resample_ohlcv(df, timeframe)
        df = select_range(df, start, end)
        df.attrs.update(attrs)
        out.append(df)
    return out


def expand_sources(data: Sequence[str]) -> list[str]:
    """One source per symbol: a folder becomes its data files, a wide file its columns."""
    from bt_attention_lstm.models.training.multi_symbol import expand_data_paths

    return expand_data_paths(list(data))


def require_bars(df: pd.DataFrame, needed: int, reason: str) -> pd.DataFrame:
    """``df`` checked (``validate_ohlcv``) to hold at least ``needed`` bars, for ``reason``."""
    from bt_attention_lstm.models.data import validate_ohlcv

    return validate_ohlcv(df, min_bars=needed, reason=reason)


def check_data_kind(artifact: Artifact, df: pd.DataFrame) -> None:
    """Refuse (ConfigError) close-only data for a model whose inputs read high, low or volume,
    or OHLCV bars for such a model trained on closes only."""
    problem = artifact.feature_spec.data_mismatch(
        bool(artifact.meta.get("close_only", False)), bool(df.attrs.get("close_only", False))
    )
    if problem is not None:
        raise ConfigError(problem)


def check_timeframe(meta: dict[str, object], df: pd.DataFrame, allow: bool) -> None:
    """Refuse (ConfigError) bars whose size is not the model's, unless ``allow`` (then WARNING)."""
    from bt_attention_lstm.models.data import infer_timeframe, timeframe_mismatch

    problem = timeframe_mismatch(meta, infer_timeframe(df.index))
    if problem is None:
        return
    if not allow:
        raise ConfigError(
            f"{problem}; resample with `timeframe`, use a model trained on these bars, or set "
            "`allow_timeframe_mismatch`"
        )
    logger.warning("%s (allow_timeframe_mismatch)", problem)


def check_training_timeframes(frames: Sequence[pd.DataFrame], allow: bool) -> None:
    """Refuse (DataError) training frames of different bar sizes, unless ``allow`` (then
    WARNING): one model learns one bar size."""
    from bt_attention_lstm.models.data import require_one_timeframe

    try:
        require_one_timeframe(frames)
    except DataError as exc:
        if not allow:
            raise DataError(f"{exc} (or set `allow_timeframe_mismatch`)") from None
        logger.warning("%s (allow_timeframe_mismatch)", exc)


def prepare_out_dir(
    out: str | os.PathLike[str] | None, force: bool | None = None, command: str = "run"
) -> Path:
    """The run folder, checked before any work: it must be new or empty (or ``force`` is true),
    and every existing part of its path a writable directory. ``force=None``: the workflow
    cannot replace a folder. Without ``out``: a fresh ``<command>-<stamp>`` folder under
    ``reports.run_dir.runs_root()``, never the working directory. The path is absolute."""
    from bt_attention_lstm.reports.run_dir import new_run_dir

    path = new_run_dir(name=command) if out is None else Path(out).expanduser().absolute()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"`out` {path} is a file, not a directory")
        if not force and any(path.iterdir()):
            raise ConfigError(
                f"`out` {path} already exists and is not empty; choose a new directory"
                + (" or set `force`" if force is not None else "")
            )
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"`out` {path}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"`out` {path}: {ancestor} is not writable")
    return path
