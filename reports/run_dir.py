"""Where a report goes when the user names no --out: a fresh timestamped folder."""

from __future__ import annotations

from datetime import datetime
from os import PathLike
from pathlib import Path


def new_run_dir(base: str | PathLike[str] = "reports/output") -> Path:
    """A fresh, timestamped report path under `base` (not created), e.g. base/20240131-142501."""
    root = Path(base)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / stamp
    suffix = 1
    while candidate.exists():
        candidate = root / f"{stamp}-{suffix}"
        suffix += 1
    return candidate
