"""Where a run's files go when the user names no folder: a fresh stamped folder under the runs
root, never the working directory.

    $XDG_DATA_HOME/bt-attention-lstm/runs/<name>-<YYYYmmdd-HHMMSS>   (XDG_DATA_HOME unset:
                                                                    ~/.local/share)

A run's files (a tear sheet, a trained artifact) are results a user keeps, which the XDG
base-directory specification files under the data home; the working directory is where a
backtrader user's own ``reports/`` and ``models/`` live. Standard library only.
"""

from __future__ import annotations

import os
from datetime import datetime
from os import PathLike
from pathlib import Path

APP_DIR = "bt-attention-lstm"


def runs_root() -> Path:
    """``$XDG_DATA_HOME/bt-attention-lstm/runs``; an unset, empty or relative XDG_DATA_HOME
    (which the specification says to ignore) means ``~/.local/share``."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / APP_DIR / "runs"


def new_run_dir(
    base: str | PathLike[str] | None = None, name: str = "report", now: datetime | None = None
) -> Path:
    """A fresh ``<base>/<name>-<YYYYmmdd-HHMMSS>`` path (not created; ``base`` defaults to
    ``runs_root()``); ``-1``, ``-2`` ... is appended when two runs start within one second."""
    root = Path(base) if base is not None else runs_root()
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{name}-{stamp}"
    suffix = 1
    while candidate.exists():
        candidate = root / f"{name}-{stamp}-{suffix}"
        suffix += 1
    return candidate
