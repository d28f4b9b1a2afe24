"""The sample data shipped inside the package: names, paths from anywhere, loading, the
command-line helper, and the zipped-install fallback."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import bt_attention_lstm.models.datasets as datasets
from bt_attention_lstm.models.data import samples
from bt_attention_lstm.models.datasets import list_samples, load_sample, sample_dir, sample_path
from bt_attention_lstm.models.errors import DataError
from tests.conftest import DATA_DIR, subprocess_env

SHIPPED = [
    "2006-01-02-volume-min-001.txt", "2006-day-001.txt", "2006-min-005.txt",
    "ko-close-2000-2014.csv", "nvda-1999-2014.txt", "orcl-1995-2014.txt",
    "us-stocks-close-1990-2022.csv", "yhoo-1996-2014.txt",
]


def test_the_shipped_files_are_listed_and_live_in_the_package_folder():
    assert list_samples() == SHIPPED
    folder = Path(datasets.__file__).parent
    assert sample_dir() == folder == DATA_DIR
    assert (folder / "README.md").is_file()  # the sources, next to the data
    for name in SHIPPED:
        path = sample_path(name)
        assert path.is_absolute() and path.is_file() and path.parent == folder


def test_an_unknown_name_is_a_data_error_naming_the_shipped_files():
    with pytest.raises(DataError, match=r"no sample data file 'orcl\.csv'.*orcl-1995-2014\.txt"):
        sample_path("orcl.csv")
    with pytest.raises(DataError):
        sample_path("README.md")  # documentation, not data
    with pytest.raises(DataError):
        sample_path("../datasets/orcl-1995-2014.txt")


def test_load_sample_reads_files_and_one_symbol_of_the_wide_file():
    orcl = load_sample("orcl-1995-2014.txt")
    assert len(orcl) == 5036 and orcl.attrs["source"] == str(sample_path("orcl-1995-2014.txt"))
    ko = load_sample("us-stocks-close-1990-2022.csv#KO")
    ko_file = load_sample("ko-close-2000-2014.csv")
    assert ko.attrs["symbol"] == "KO"
    assert ko.loc["2000":"2014", "close"].round(6).equals(ko_file["close"].round(6))


def test_the_module_prints_paths_for_the_shell(tmp_path):
    def run(*names: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bt_attention_lstm.models.datasets", *names], cwd=tmp_path,
            env=subprocess_env(), capture_output=True, text=True, timeout=60,
        )

    one = run("orcl-1995-2014.txt")
    assert one.returncode == 0 and one.stdout == f"{sample_path('orcl-1995-2014.txt')}\n"
    every = run()
    assert every.returncode == 0
    assert every.stdout.splitlines() == [str(sample_path(n)) for n in SHIPPED]
    bad = run("nope.txt")
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
    assert "nope.txt" in bad.stderr


def test_a_zipped_install_gets_real_files(tmp_path, monkeypatch):
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pkg/__init__.py", "")
        zf.writestr("pkg/README.md", "sources\n")
        zf.write(sample_path("2006-day-001.txt"), "pkg/2006-day-001.txt")
    monkeypatch.setattr(samples.resources, "files", lambda _: zipfile.Path(archive, "pkg/"))
    sample_dir.cache_clear()
    try:
        assert list_samples() == ["2006-day-001.txt"]
        path = sample_path("2006-day-001.txt")
        assert path.is_file() and not path.is_relative_to(Path(datasets.__file__).parent)
        assert path.read_bytes() == (DATA_DIR / "2006-day-001.txt").read_bytes()
        assert (path.parent / "README.md").read_text() == "sources\n"
    finally:
        monkeypatch.undo()
        sample_dir.cache_clear()
    assert sample_dir() == DATA_DIR


def test_a_sample_prefix_names_a_shipped_file_from_any_folder(tmp_path, monkeypatch):
    from bt_attention_lstm.models.data import load_ohlcv
    from bt_attention_lstm.models.datasets import resolve_source, sample_path
    from bt_attention_lstm.models.training.multi_symbol import expand_data_paths

    monkeypatch.chdir(tmp_path)
    assert resolve_source("sample:orcl-1995-2014.txt") == str(sample_path("orcl-1995-2014.txt"))
    assert resolve_source("prices.csv#KO") == "prices.csv#KO"
    assert len(load_ohlcv("sample:orcl-1995-2014.txt")) == 5036
    ko = load_ohlcv("sample:us-stocks-close-1990-2022.csv#KO")
    assert ko.attrs["symbol"] == "KO" and ko.attrs["close_only"]
    panel = expand_data_paths(["sample:us-stocks-close-1990-2022.csv"])
    assert len(panel) == 10 and panel[0].endswith("us-stocks-close-1990-2022.csv#AAPL")
