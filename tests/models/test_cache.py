"""The one cache directory of the package: downloads and default models live under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bt_attention_lstm.models.cache import cache_dir
from bt_attention_lstm.models.data import default_cache_dir


def test_the_cache_lives_under_xdg_cache_home_read_at_each_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "bt-attention-lstm"
    assert cache_dir("models", "abc") == tmp_path / "bt-attention-lstm" / "models" / "abc"
    assert not (tmp_path / "bt-attention-lstm").exists()  # naming a folder creates nothing
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache_dir("x") == Path.home() / ".cache" / "bt-attention-lstm" / "x"


def test_the_download_cache_is_a_folder_of_the_package_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == cache_dir("yfinance")
