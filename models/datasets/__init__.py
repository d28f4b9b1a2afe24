"""Sample market data shipped inside the package, usable from any working directory.

The files are backtrader's own sample data (Yahoo and backtrader CSVs, daily and intraday) and
two close-only files of US large caps; ``README.md`` beside them gives each file's format,
range, bar count and source. They install with the package (wheel and editable alike), so a
script outside the repository reads them by name::

    from bt_attention_lstm.models.datasets import load_sample, sample_path

    path = sample_path("orcl-1995-2014.txt")  # a real file: give it to backtrader or pandas
    df = load_sample("orcl-1995-2014.txt")  # models.data.load_ohlcv of that file
    ko = load_sample("us-stocks-close-1990-2022.csv#KO")  # one symbol of the wide file

On the command line ``--data sample:orcl-1995-2014.txt`` (or ``sample:FILE#SYMBOL``) reads a
shipped file from any folder; ``python -m bt_attention_lstm.models.datasets orcl-1995-2014.txt``
prints its path (no name: every file with its path). In a clone of the repository the same files are
``models/datasets/<file>``.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.models.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["list_samples", "load_sample", "resolve_source", "sample_dir", "sample_path"]

SAMPLE_PREFIX = "sample:"

DATA_SUFFIXES = (".txt", ".csv")


@functools.cache
def sample_dir() -> Path:
    """The folder that holds the shipped data files and their README.md.

    In an installed package (wheel or editable) this is the package's own folder; from a
    zipped install (rare) a temporary copy, removed when the interpreter exits.
    """
    root = resources.files(__name__)
    if isinstance(root, Path):
        return root
    copy = Path(tempfile.mkdtemp(prefix="bt-attention-lstm-samples-"))
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    for entry in root.iterdir():
        if entry.is_file():
            (copy / entry.name).write_bytes(entry.read_bytes())
    return copy


def list_samples() -> list[str]:
    """The names of the shipped data files, sorted."""
    return sorted(p.name for p in sample_dir().iterdir() if p.name.endswith(DATA_SUFFIXES))


def sample_path(name: str) -> Path:
    """The filesystem path of the shipped data file ``name`` (e.g. ``"orcl-1995-2014.txt"``).

    Raises :class:`~bt_attention_lstm.models.errors.DataError` naming the shipped files when
    there is no such file.
    """
    names = list_samples()
    if name not in names:
        raise DataError(f"no sample data file {name!r}; the shipped ones are {', '.join(names)}")
    return sample_dir() / name


def resolve_source(source: str) -> str:
    """``sample:NAME[#SYMBOL]`` -> the shipped file's path (``#SYMBOL`` kept); any other source
    unchanged. So ``--data sample:orcl-1995-2014.txt`` works after a plain ``pip install``."""
    if not source.startswith(SAMPLE_PREFIX):
        return source
    from bt_attention_lstm.models.data.price_panel import SYMBOL_SEPARATOR

    file, sep, symbol = source[len(SAMPLE_PREFIX):].partition(SYMBOL_SEPARATOR)
    return f"{sample_path(file)}{sep}{symbol}"


def load_sample(name: str, fmt: str = "auto") -> pd.DataFrame:
    """The shipped file ``name`` loaded by :func:`bt_attention_lstm.models.data.load_ohlcv`.

    ``name`` may end in ``#SYMBOL`` to pick one symbol of the wide close-only file
    (``"us-stocks-close-1990-2022.csv#KO"``), as ``--data`` does on the command line.
    """
    from bt_attention_lstm.models.data import load_ohlcv
    from bt_attention_lstm.models.data.price_panel import SYMBOL_SEPARATOR

    file, sep, symbol = name.partition(SYMBOL_SEPARATOR)
    return load_ohlcv(f"{sample_path(file)}{sep}{symbol}", fmt)
