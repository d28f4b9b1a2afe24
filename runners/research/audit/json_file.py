"""Writing a JSON report atomically: a reader sees the whole report or none of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.reports.jsonsafe import dumps_strict


def check_json_target(path: Path | None, name: str = "json_path") -> None:
    """Refuse, before any work, a report path that is a folder or lies in a missing folder;
    ``name`` is the parameter that holds it."""
    if path is None:
        return
    if path.is_dir():
        raise ConfigError(f"`{name}` {path} is a directory; give a file path")
    if not path.absolute().parent.is_dir():
        raise ConfigError(f"`{name}` {path}: the folder {path.absolute().parent} does not exist")


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write next to the target and rename: a reader never sees half a report. Strict JSON:
    NaN and infinities become null (``reports.jsonsafe``)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.absolute().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps_strict(report))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
