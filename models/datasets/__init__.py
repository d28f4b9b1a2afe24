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

from typing import TYPE_CHECKING

from bt_attention_lstm.models.data.samples import (
    DATA_SUFFIXES,
    SAMPLE_PREFIX,
    SYMBOL_SEPARATOR,
    list_samples,
    resolve_source,
    sample_dir,
    sample_path,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATA_SUFFIXES",
    "SAMPLE_PREFIX",
    "list_samples",
    "load_sample",
    "resolve_source",
    "sample_dir",
    "sample_path",
]


def load_sample(name: str, fmt: str = "auto") -> pd.DataFrame:
    """The shipped file ``name`` loaded by :func:`bt_attention_lstm.models.data.load_ohlcv`.

    ``name`` may end in ``#SYMBOL`` to pick one symbol of the wide close-only file
    (``"us-stocks-close-1990-2022.csv#KO"``), as ``--data`` does on the command line.
    """
    from bt_attention_lstm.models.data import load_ohlcv  # pandas: only when a file is loaded

    file, sep, symbol = name.partition(SYMBOL_SEPARATOR)
    return load_ohlcv(f"{sample_path(file)}{sep}{symbol}", fmt)
