"""StateStore: the strategy's own state as one JSON file, written atomically, read back on start.

A crash or a kill mid-write never leaves a torn file: the JSON goes to a temporary file in the
same directory, is flushed to disk, and is renamed over the old one (``os.replace`` is atomic on
POSIX and Windows). A write happens only when the content changed.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

STATE_FORMAT = 1


class StateStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            raise ConfigError(f"state_path {self.path} exists and is not a file")
        self._last_written: str | None = None

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is no file yet."""
        if not self.path.exists():
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
            state = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"state file {self.path} cannot be read: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise DataError(
                f"state file {self.path} is not a format-{STATE_FORMAT} strategy state; "
                "move it away to start without state"
            )
        self._last_written = json.dumps(state, sort_keys=True, indent=1)
        return state

    def save(self, state: dict[str, Any]) -> bool:
        """Write ``state`` if it differs from what is on disk; True when written."""
        text = json.dumps(
            {"format": STATE_FORMAT, **state}, sort_keys=True, indent=1, allow_nan=False
        )
        if text == self._last_written:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._last_written = text
        logger.debug("state saved to %s", self.path)
        return True
