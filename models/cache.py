"""The user's cache directory for this package: downloads and cached default models."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "bt-attention-lstm"


def cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/bt-attention-lstm/<parts...>`` (``~/.cache/...`` when it is unset).

    Read at each call, so a changed environment (a test, a notebook) takes effect; nothing is
    created on disk.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().joinpath(APP_NAME, *parts)
