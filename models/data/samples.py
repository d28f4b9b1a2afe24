"""Where the sample data shipped with the package lies, and the ``sample:NAME`` source spec.

The files themselves live in the ``models/datasets`` folder (``bt_attention_lstm.models.datasets``,
with its README); this module finds them by name so that every loader accepts
``sample:FILE[#SYMBOL]`` wherever it accepts a path. ``models.datasets`` re-exports these names
beside ``load_sample``.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from bt_attention_lstm.models.errors import DataError

SAMPLES_PACKAGE = "bt_attention_lstm.models.datasets"  # found by name: data never imports it
SYMBOL_SEPARATOR = "#"  # PATH#SYMBOL: one column of a wide price file
SAMPLE_PREFIX = "sample:"

DATA_SUFFIXES = (".txt", ".csv")


@functools.cache
def sample_dir() -> Path:
    """The folder that holds the shipped data files and their README.md.

    In an installed package (wheel or editable) this is the package's own folder; from a
    zipped install (rare) a temporary copy, removed when the interpreter exits.
    """
    root = resources.files(SAMPLES_PACKAGE)
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
    file, sep, symbol = source[len(SAMPLE_PREFIX):].partition(SYMBOL_SEPARATOR)
    return f"{sample_path(file)}{sep}{symbol}"
