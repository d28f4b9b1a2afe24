"""Tests of models.data: loaders, validation, ranges, resampling, fingerprint, download."""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.data import (
    OHLCV_COLUMNS,
    data_fingerprint,
    default_cache_dir,
    detect_format,
    download_symbol,
    infer_bar_spacing,
    infer_periods_per_year,
    infer_timeframe,
    load_ohlcv,
    resample_ohlcv,
    select_range,
    validate_ohlcv,
)
from bt_attention_lstm.models.data import download as data_download
from bt_attention_lstm.models.errors import DataError
from tests.conftest import DATA_DIR, REPO_ROOT

DATA = DATA_DIR
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"sample data not found at {DATA}")

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
BTCSV_HEADER = "Date,Open,High,Low,Close,Volume,OpenInterest\n"

SAMPLES = [
    # file, detected format, bars, timeframe, first timestamp
    ("orcl-1995-2014.txt", "yahoo", 5036, "1d", "1995-01-03"),
    ("nvda-1999-2014.txt", "yahoo", 4012, "1d", "1999-01-22"),
    ("yhoo-1996-2014.txt", "yahoo", 4713, "1d", "1996-04-12"),
    ("2006-day-001.txt", "btcsv", 255, "1d", "2006-01-02"),
    ("2006-01-02-volume-min-001.txt", "btcsv", 30889, "1min", "2006-01-02 09:01"),
    ("2006-min-005.txt", "btcsv", 2142, "5min", "2006-01-02 09:05"),
]


@pytest.fixture(scope="module")
def min5() -> pd.DataFrame:
    if not DATA.is_dir():
        pytest.skip(f"sample data not found at {DATA}")
    return load_ohlcv(DATA / "2006-min-005.txt")


@pytest.fixture(scope="module")
def orcl() -> pd.DataFrame:
    if not DATA.is_dir():
        pytest.skip(f"sample data not found at {DATA}")
    return load_ohlcv(DATA / "orcl-1995-2014.txt")


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def frame(n: int = 10, start: str = "2020-01-01", freq: str = "D") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, name="datetime")
    close = 100.0 + np.arange(n, dtype=float)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1.0, "low": close - 1.0, "close": close,
         "volume": np.full(n, 1000.0)},
        index=idx,
    )


def assert_canonical(df: pd.DataFrame) -> None:
    assert tuple(df.columns) == OHLCV_COLUMNS
    assert all(dt == np.float64 for dt in df.dtypes)
    assert isinstance(df.index, pd.DatetimeIndex)
    assert df.index.tz is None
    assert df.index.name == "datetime"
    assert df.index.is_monotonic_increasing and df.index.is_unique
    assert "source" in df.attrs and "format" in df.attrs


# ------------------------------------------------------------------------------ real files


@needs_data
@pytest.mark.parametrize(("name", "fmt", "bars", "timeframe", "first"), SAMPLES)
def test_every_sample_file_loads_with_auto_detection(name, fmt, bars, timeframe, first):
    path = DATA / name
    assert detect_format(path) == fmt
    df = load_ohlcv(path)
    assert len(df) == bars
    assert_canonical(df)
    assert df.attrs["format"] == fmt
    assert df.attrs["source"] == str(path)
    assert df.attrs["repaired_cells"] == 0
    assert df.index[0] == pd.Timestamp(first)
    assert infer_timeframe(df.index) == timeframe


def _backtrader_arrays(feed_cls, path: Path) -> dict[str, np.ndarray]:
    bt = pytest.importorskip("backtrader")
    cerebro = bt.Cerebro(stdstats=False)
    feed = feed_cls(dataname=str(path))
    cerebro.adddata(feed)
    cerebro.addstrategy(bt.Strategy)
    cerebro.run()
    out = {k: np.asarray(getattr(feed.lines, k).array) for k in OHLCV_COLUMNS}
    out["date"] = np.array(
        [np.datetime64(bt.num2date(x).date()) for x in feed.lines.datetime.array]
    )
    return out


@needs_data
@pytest.mark.parametrize("name", ["orcl-1995-2014.txt", "nvda-1999-2014.txt"])
def test_yahoo_loader_reproduces_backtrader_feed_exactly(name):
    bt = pytest.importorskip("backtrader")
    expected = _backtrader_arrays(bt.feeds.YahooFinanceCSVData, DATA / name)
    df = load_ohlcv(DATA / name)
    assert len(df) == len(expected["close"])
    for col in OHLCV_COLUMNS:
        np.testing.assert_array_equal(df[col].to_numpy(), expected[col], err_msg=col)
    np.testing.assert_array_equal(df.index.to_numpy().astype("datetime64[D]"), expected["date"])


def test_yahoo_uses_python_round_and_skips_null_rows(tmp_path):
    bt = pytest.importorskip("backtrader")
    # 72.955 is a half where Python's round (72.95) and numpy's (72.96) disagree.
    assert round(72.955, 2) == 72.95 and np.round(72.955, 2) == 72.96
    path = write(
        tmp_path,
        YAHOO_HEADER
        + "2020-01-02,72.955,74.0,72.0,73.0,73.0,1000.5\n"
        + "2020-01-03,null,null,null,null,null,null\n"
        + "2020-01-06,10.0,12.0,9.0,11.0,5.5,2001\n",
    )
    df = load_ohlcv(path)
    expected = _backtrader_arrays(bt.feeds.YahooFinanceCSVData, path)
    assert len(df) == len(expected["close"]) == 2
    for col in OHLCV_COLUMNS:
        np.testing.assert_array_equal(df[col].to_numpy(), expected[col], err_msg=col)
    assert df["open"].iloc[0] == 72.95
    # adjfactor 2: o,h,l halved, close = adj close, volume doubled.
    assert df.iloc[1].tolist() == [5.0, 6.0, 4.5, 5.5, 4002.0]


@needs_data
def test_btcsv_header_without_time_uses_row_field_count():
    df = load_ohlcv(DATA / "2006-01-02-volume-min-001.txt")
    assert df.index[:2].tolist() == [pd.Timestamp("2006-01-02 09:01"),
                                     pd.Timestamp("2006-01-02 09:02")]
    assert df.iloc[0].tolist() == [3602.0, 3603.0, 3597.0, 3599.0, 5699.0]


def test_btcsv_rows_without_time_are_daily(tmp_path):
    path = write(tmp_path, BTCSV_HEADER + "2006-01-02,10,11,9,10.5,100,0\n"
                 "2006-01-03,10.5,12,10,11,200,0\n")
    df = load_ohlcv(path)
    assert df.attrs["format"] == "btcsv"
    assert df.index.tolist() == [pd.Timestamp("2006-01-02"), pd.Timestamp("2006-01-03")]
    assert df["volume"].tolist() == [100.0, 200.0]


# ------------------------------------------------------------------------------ generic, parquet


def test_generic_csv_case_insensitive_with_adj_close_ignored(tmp_path):
    path = write(tmp_path, "TIMESTAMP,OPEN,High,low,Close,Adj Close,VOLUME\n"
                 "2021-03-01 10:00,1,2,0.5,1.5,99,10\n2021-03-01 10:05,1.5,2,1,1.2,99,20\n")
    assert detect_format(path) == "generic"  # Adj Close outside Yahoo's layout: ignored
    df = load_ohlcv(path)
    assert_canonical(df)
    assert df.index[1] == pd.Timestamp("2021-03-01 10:05")
    assert df["close"].tolist() == [1.5, 1.2]


def test_generic_date_and_time_columns_and_missing_volume(tmp_path, caplog):
    path = write(tmp_path, "date,time,open,high,low,close\n"
                 "2021-03-01,10:00:00,1,2,0.5,1.5\n2021-03-01,10:05:00,1.5,2,1,1.2\n")
    assert detect_format(path) == "generic"
    with caplog.at_level(logging.INFO, logger="bt_attention_lstm.models.data"):
        df = load_ohlcv(path)
    assert df["volume"].tolist() == [0.0, 0.0]
    assert df.index[0] == pd.Timestamp("2021-03-01 10:00")
    assert any("no volume column" in r.getMessage() for r in caplog.records)


def test_generic_semicolon_epoch_and_timezone(tmp_path):
    path = write(tmp_path, "Datetime;Open;High;Low;Close;Volume\n"
                 "1609459200;1;2;0.5;1.5;10\n1609462800;1.5;2;1;1.2;20\n")
    df = load_ohlcv(path)
    assert df.index.tolist() == [pd.Timestamp("2021-01-01 00:00"), pd.Timestamp("2021-01-01 01:00")]
    path = write(tmp_path, "datetime,open,high,low,close,volume\n"
                 "2021-03-01 10:00-05:00,1,2,0.5,1.5,1\n2021-03-01 10:05-05:00,1.5,2,1,1.2,1\n")
    df = load_ohlcv(path)
    assert df.index.tz is None
    assert df.index[0] == pd.Timestamp("2021-03-01 10:00")  # exchange wall-clock time kept
    path = write(tmp_path, "datetime,open,high,low,close,volume\n"
                 "2021-03-12 10:00-05:00,1,2,0.5,1.5,1\n2021-03-15 10:00-04:00,1.5,2,1,1.2,1\n")
    df = load_ohlcv(path)  # a DST change: two offsets, still the local wall-clock time
    assert df.index.tolist() == [pd.Timestamp("2021-03-12 10:00"), pd.Timestamp("2021-03-15 10:00")]


def test_generic_roundtrip_of_own_output(tmp_path, orcl):
    path = tmp_path / "orcl.csv"
    orcl.to_csv(path)
    again = load_ohlcv(path)
    assert again.attrs["format"] == "generic"
    pd.testing.assert_frame_equal(again, orcl, check_freq=False)
    assert data_fingerprint(again) == data_fingerprint(orcl)


def test_parquet_index_and_column_layouts(tmp_path):
    pytest.importorskip("pyarrow")
    df = frame(30)
    df.to_parquet(tmp_path / "a.parquet")
    loaded = load_ohlcv(tmp_path / "a.parquet")
    assert loaded.attrs["format"] == "parquet"
    pd.testing.assert_frame_equal(loaded, validate_ohlcv(df), check_freq=False)
    df.reset_index().rename(columns={"datetime": "Date", "close": "Close"}).to_parquet(
        tmp_path / "b.pq"
    )
    assert load_ohlcv(tmp_path / "b.pq")["close"].tolist() == df["close"].tolist()
    write(tmp_path, "not parquet", "c.parquet")
    with pytest.raises(DataError, match="cannot read parquet"):
        load_ohlcv(tmp_path / "c.parquet")


# ------------------------------------------------------------------------------ bad input

BAD_FILES = [
    ("empty", b"", "auto", "is empty"),
    ("blank lines only", b"\n\n  \n", "auto", "is empty"),
    ("header only yahoo", YAHOO_HEADER.encode(), "auto", "no data rows"),
    ("header only btcsv", BTCSV_HEADER.encode(), "auto", "no data rows"),
    ("header only generic", b"datetime,open,high,low,close,volume\n", "auto", "no data rows"),
    ("NUL bytes", b"\x00\x01\x02PK\x03\x04\x00" * 20, "auto", "is not a text CSV"),
    ("undecodable", b"Date,Open\n\xff\xfe\xfa\xfb,1\n", "auto", "is not a text CSV"),
    ("missing column", b"date,open,high,close,volume\n2020-01-01,1,2,1.5,3\n", "auto",
     "missing column.*low"),
    ("no date column", b"when,open,high,low,close\n2020-01-01,1,2,0.5,1.5\n", "auto",
     "no date/datetime/timestamp column"),
    ("non-numeric generic", b"date,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,3\n"
     b"2020-01-02,1,abc,0.5,1.5,3\n", "auto", r"non-numeric value 'abc' in column 'high' at row 2"),
    ("non-numeric btcsv", (BTCSV_HEADER + "2020-01-01,1,2,0.5,1.5,3,0\n"
                           "2020-01-02,1,2,0.5,x1.5,3,0\n").encode(), "auto",
     r"non-numeric value 'x1.5' in column 'close' at data.csv line 3"),
    ("non-numeric yahoo", (YAHOO_HEADER + "2020-01-01,1,2,0.5,1.5,1.5,3\n"
                           "2020-01-02,1,2,0.5,1.5,oops,3\n").encode(), "auto",
     r"'oops' in column 'adj close' at data.csv line 3"),
    ("bad date", b"date,open,high,low,close\n2020-13-45,1,2,0.5,1.5\n", "auto",
     "unparseable timestamp '2020-13-45' at row 1"),
    ("bad btcsv date", (BTCSV_HEADER + "01/02/2020,1,2,0.5,1.5,3,0\n").encode(), "auto",
     "unparseable timestamp"),
    ("wrong field count", (BTCSV_HEADER + "2020-01-01,1,2,0.5,1.5,3\n").encode(), "auto",
     "line 2 has 6 fields, expected 7 or 8"),
    ("unsorted", b"date,open,high,low,close\n2020-01-02,1,2,0.5,1.5\n2020-01-01,1,2,0.5,1.5\n",
     "auto", "not in increasing order: 2020-01-01 00:00:00 .*sort"),
    ("duplicate", b"date,open,high,low,close\n2020-01-01,1,2,0.5,1.5\n2020-01-02,1,2,0.5,1.5\n"
     b"2020-01-02,1,2,0.5,1.5\n", "auto", "duplicate timestamp 2020-01-02 00:00:00 \\(row 3\\)"),
    ("zero price", b"date,open,high,low,close\n2020-01-01,0,2,0.5,1.5\n", "auto",
     "non-positive price at 2020-01-01"),
    ("negative price", b"date,open,high,low,close\n2020-01-01,1,2,-0.5,1.5\n", "auto",
     "non-positive price"),
    ("high below low", b"date,open,high,low,close\n2020-01-01,1,0.5,2,1.5\n", "auto",
     "high below low"),
    ("open above high", b"date,open,high,low,close\n2020-01-01,3,2,0.5,1.5\n", "auto",
     "open outside \\[low, high\\]"),
    ("close below low", b"date,open,high,low,close\n2020-01-01,1,2,0.5,0.4\n", "auto",
     "close outside \\[low, high\\]"),
    ("negative volume", b"date,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,-1\n", "auto",
     "negative volume"),
    ("zero adj close", (YAHOO_HEADER + "2020-01-01,1,2,0.5,1.5,0,3\n").encode(), "auto",
     "non-positive close or adj close"),
    ("all null yahoo", (YAHOO_HEADER + "2020-01-01,null,null,null,null,null,null\n").encode(),
     "auto", "every data row contains 'null'"),
]


@pytest.mark.parametrize(("case", "content", "fmt", "message"), BAD_FILES,
                         ids=[c[0] for c in BAD_FILES])
def test_bad_files_raise_data_error_with_useful_message(tmp_path, case, content, fmt, message):
    path = write(tmp_path, content)
    with pytest.raises(DataError, match=message) as info:
        load_ohlcv(path, fmt=fmt)
    assert "\n" not in str(info.value)


def test_bad_arguments(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        load_ohlcv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="not a file"):
        load_ohlcv(tmp_path)
    path = write(tmp_path, "date,open,high,low,close\n2020-01-01,1,2,0.5,1.5\n")
    with pytest.raises(DataError, match="unknown data format 'excel'; use one of auto"):
        load_ohlcv(path, fmt="excel")


def test_too_few_bars_names_counts_and_reason():
    with pytest.raises(DataError, match=r"needs at least 50 bars, got 10 \(warm-up 30 \+ seq"):
        validate_ohlcv(frame(10), min_bars=50, reason="warm-up 30 + sequence 20")
    assert len(validate_ohlcv(frame(10), min_bars=10)) == 10


def test_validate_rejects_non_frames_and_bad_index_and_strings():
    with pytest.raises(DataError, match="DataFrame"):
        validate_ohlcv([1, 2, 3])
    with pytest.raises(DataError, match="DatetimeIndex"):
        validate_ohlcv(frame(5).reset_index(drop=True))
    with pytest.raises(DataError, match="missing column.*volume"):
        validate_ohlcv(frame(5).drop(columns="volume"))
    df = frame(5).astype(object)
    df.iloc[3, 2] = "n/a?"
    with pytest.raises(DataError, match=r"non-numeric value 'n/a\?' in column 'low' at row 4"):
        validate_ohlcv(df)


def test_validate_tolerates_rounding_noise_and_returns_clean_copy():
    df = frame(5)
    df.iloc[2, df.columns.get_loc("close")] = df["high"].iloc[2] * (1 + 1e-12)
    df["extra"] = 1
    df.attrs["source"] = "mine"
    out = validate_ohlcv(df)
    assert tuple(out.columns) == OHLCV_COLUMNS
    assert out.attrs["source"] == "mine" and out.attrs["repaired_cells"] == 0
    assert out is not df


# ------------------------------------------------------------------------------ NaN repair


def test_nan_repair_forward_fills_and_warns_once(caplog):
    df = frame(400)
    df.iloc[10, df.columns.get_loc("close")] = np.nan
    df.iloc[200, df.columns.get_loc("volume")] = np.inf
    df.iloc[201, df.columns.get_loc("open")] = np.nan
    with caplog.at_level(logging.WARNING, logger="bt_attention_lstm.models.data"):
        out = validate_ohlcv(df)
    warnings_ = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings_) == 1 and "repaired 3 NaN/inf cells" in warnings_[0].getMessage()
    assert out.attrs["repaired_cells"] == 3
    assert len(out) == 400 and np.isfinite(out.to_numpy()).all()
    assert out["close"].iloc[10] == df["close"].iloc[9]
    assert out["volume"].iloc[200] == df["volume"].iloc[199]
    assert out["open"].iloc[201] == df["open"].iloc[200]
    # A filled close above the row's own high widens the high instead of failing validation.
    assert out["high"].iloc[10] >= out["close"].iloc[10]


def test_nan_repair_drops_leading_rows():
    df = frame(400)
    df.iloc[0, 0] = np.nan
    df.iloc[1, 3] = np.nan
    out = validate_ohlcv(df)
    assert len(out) == 398 and out.index[0] == df.index[2]
    assert out.attrs["repaired_cells"] == 2


def test_nan_repair_from_csv_cells(tmp_path):
    rows = [
        f"2020-01-01 {h:02d}:{m:02d},1,2,0.5,{'' if (h, m) == (3, 5) else 1.5},"
        f"{'nan' if (h, m) == (9, 0) else 7}\n"
        for h in range(24) for m in range(0, 60, 5)
    ]
    path = write(tmp_path, "datetime,open,high,low,close,volume\n" + "".join(rows))
    out = load_ohlcv(path)
    assert len(out) == 288 and out.attrs["repaired_cells"] == 2
    assert out.loc["2020-01-01 03:05", "close"] == 1.5
    assert out.loc["2020-01-01 09:00", "volume"] == 7.0


def test_too_many_bad_cells_or_long_runs_raise():
    df = frame(100)
    df.iloc[10:12, 3] = np.nan  # 2 of 100 rows > 1%
    with pytest.raises(DataError, match=r"2 NaN/inf cells in 2 of 100 rows .* too many"):
        validate_ohlcv(df)
    assert validate_ohlcv(df, max_repair_fraction=0.05).attrs["repaired_cells"] == 2
    df = frame(1000)
    df.iloc[100:104, 1] = np.nan  # a run of 4 > 3
    with pytest.raises(DataError, match="longest run 4 rows"):
        validate_ohlcv(df)
    assert len(validate_ohlcv(df, max_repair_run=4)) == 1000


# ------------------------------------------------------------------------------ select_range


def test_select_range_inclusive_whole_end_day(min5):
    out = select_range(min5, "2006-01-03", "2006-01-04")
    assert out.index[0] == pd.Timestamp("2006-01-03 09:05")
    assert out.index[-1] == pd.Timestamp("2006-01-04 17:30")
    assert len(out) == 2 * 102
    assert out.attrs["source"] == min5.attrs["source"]
    assert select_range(min5, end="2006-01-03 12:00").index[-1] == pd.Timestamp("2006-01-03 12:00")
    assert len(select_range(min5)) == len(min5)


def test_select_range_errors(min5):
    with pytest.raises(DataError, match="start 2006-02-01 is after end 2006-01-01"):
        select_range(min5, "2006-02-01", "2006-01-01")
    with pytest.raises(DataError, match=r"no bars between 2010-01-01 and the end; the data covers "
                                        r"2006-01-02 09:05:00 \.\. 2006-01-30 17:30:00"):
        select_range(min5, "2010-01-01")
    with pytest.raises(DataError, match="cannot parse start date 'yesterday-ish'"):
        select_range(min5, "yesterday-ish")


# ------------------------------------------------------------------------------ resample


@needs_data
def test_resample_5min_to_1h_matches_hand_computation(min5):
    with open(DATA / "2006-min-005.txt", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    # Bars of the first hour bucket: stamped in (09:00, 10:00] on 2006-01-02.
    bucket = [r for r in rows if r[0] == "2006-01-02" and "09:00:00" < r[1] <= "10:00:00"]
    assert len(bucket) == 12
    expected = [float(bucket[0][2]), max(float(r[3]) for r in bucket),
                min(float(r[4]) for r in bucket), float(bucket[-1][5]),
                sum(float(r[6]) for r in bucket)]
    out = resample_ohlcv(min5, "1h")
    assert out.index[0] == pd.Timestamp("2006-01-02 10:00")
    assert out.iloc[0].tolist() == expected
    # The last bucket of a session, (17:00, 18:00], ends at the 17:30 bar and is stamped 17:30.
    last = [r for r in rows if r[0] == "2006-01-30" and r[1] > "17:00:00"]
    assert out.index[-1] == pd.Timestamp("2006-01-30 17:30")
    assert out["open"].iloc[-1] == float(last[0][2])
    assert out["close"].iloc[-1] == float(last[-1][5])
    assert_canonical(out)
    # No resampled bar is stamped before the source bars it contains.
    assert (np.searchsorted(min5.index, out.index, side="right") > 0).all()
    assert len(out) == 21 * 9  # 21 sessions of 09:05 .. 17:30 -> 9 hourly buckets
    assert infer_timeframe(out.index) == "1h"


@needs_data
def test_resample_real_volume_sums():
    df = load_ohlcv(DATA / "2006-01-02-volume-min-001.txt")
    out = resample_ohlcv(df, "15min")
    assert out["volume"].sum() == df["volume"].sum()
    first = df.loc["2006-01-02 09:01":"2006-01-02 09:15"]
    assert out.iloc[0].tolist() == [first["open"].iloc[0], first["high"].max(),
                                    first["low"].min(), first["close"].iloc[-1],
                                    first["volume"].sum()]


def test_resample_daily_weekly_and_errors(orcl, min5):
    daily = resample_ohlcv(min5, "D")
    assert len(daily) == 21
    assert daily.index[0] == pd.Timestamp("2006-01-02 17:30")  # last source bar of the day
    weekly = resample_ohlcv(orcl, "1w")
    assert (weekly.index.day_of_week <= 4).all()
    assert weekly.index[0] == pd.Timestamp("1995-01-06")  # a Friday
    week = orcl.loc["1995-01-02":"1995-01-06"]
    assert weekly.iloc[0].tolist() == [week["open"].iloc[0], week["high"].max(),
                                       week["low"].min(), week["close"].iloc[-1],
                                       week["volume"].sum()]
    assert infer_timeframe(weekly.index) == "1w" and infer_periods_per_year(weekly.index) == 52.0
    assert len(resample_ohlcv(orcl, "1d")) == len(orcl)
    with pytest.raises(DataError, match="cannot resample 1d bars to the finer timeframe 1h"):
        resample_ohlcv(orcl, "1h")
    with pytest.raises(DataError, match="finer timeframe 1min"):
        resample_ohlcv(min5, "1min")
    for bad in ("3M", "fortnight", "0min", "2w"):
        with pytest.raises(DataError, match="unsupported timeframe"):
            resample_ohlcv(min5, bad)


# ------------------------------------------------------------------------------ frequency


def test_periods_per_year_and_spacing(orcl, min5):
    assert infer_periods_per_year(orcl.index) == 252.0
    assert infer_periods_per_year(min5.index) == 102 * 252.0
    assert infer_bar_spacing(min5.index) == pd.Timedelta(minutes=5)
    assert infer_bar_spacing(orcl.index) == pd.Timedelta(days=1)
    assert infer_periods_per_year(frame(40, freq="MS").index) == 12.0
    assert infer_timeframe(frame(40, freq="MS").index) == "1mo"
    assert infer_timeframe(frame(40, freq="4h").index) == "4h"
    assert infer_timeframe(frame(40, freq="30min").index) == "30min"
    with pytest.raises(DataError, match="at least 2 bars"):
        infer_bar_spacing(frame(1).index)


# ------------------------------------------------------------------------------ fingerprint

ORCL_FINGERPRINT = "46e7ac7cd01a51d2c9c4b77332a250d29ee007a16ca239ee79ebf8ca16cf3dab"


def test_fingerprint_stable_and_sensitive(orcl):
    fp = data_fingerprint(orcl)
    assert fp == ORCL_FINGERPRINT  # the same hex in every run and on every machine
    assert data_fingerprint(load_ohlcv(DATA / "orcl-1995-2014.txt")) == fp
    assert data_fingerprint(orcl.assign(extra=1.0)) == fp
    changed = orcl.copy()
    changed.iloc[100, 3] += 0.01
    assert data_fingerprint(changed) != fp
    shifted = orcl.copy()
    shifted.index = shifted.index + pd.Timedelta(hours=1)
    assert data_fingerprint(shifted) != fp
    us_index = orcl.copy()
    us_index.index = us_index.index.as_unit("us")
    assert data_fingerprint(us_index) == fp  # resolution of the index does not matter


# ------------------------------------------------------------------------------ download


def test_download_offline_fails_fast_with_clear_error(tmp_path, monkeypatch):
    yf = pytest.importorskip("yfinance")
    # Route every request to a closed local port: offline, whatever network this machine has.
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    t0 = time.monotonic()
    with pytest.raises(DataError, match=r"could not download SPY: .*\(offline\?"):
        download_symbol("spy", cache_dir=tmp_path, start="2020-01-01", end="2020-02-01",
                        timeout=5)
    assert time.monotonic() - t0 < 20
    assert not list(tmp_path.iterdir())  # nothing half-written
    if hasattr(getattr(yf, "config", None), "debug"):
        # yfinance's own setting, turned off to make its errors raise, is the user's again
        assert yf.config.debug.hide_exceptions is True


def _fake_history(rows: int):
    idx = pd.date_range("2020-01-02", periods=rows, freq="B", tz="America/New_York")
    base = np.linspace(10, 12, rows)
    return pd.DataFrame({"Open": base, "High": base + 0.5, "Low": base - 0.5, "Close": base,
                         "Adj Close": base / 2, "Volume": np.full(rows, 1000.0)}, index=idx)


class _FakeTicker:
    calls = 0
    rows = 5

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def history(self, **kwargs):
        _FakeTicker.calls += 1
        assert kwargs["end"] == "2020-01-11"  # inclusive end -> yfinance's exclusive end
        return _fake_history(_FakeTicker.rows)


def test_download_writes_yahoo_cache_then_reuses_it(tmp_path, monkeypatch):
    yf = pytest.importorskip("yfinance")
    monkeypatch.setattr(yf, "Ticker", _FakeTicker)
    _FakeTicker.calls, _FakeTicker.rows = 0, 5
    df = download_symbol("ABC", cache_dir=tmp_path, start="2020-01-02", end="2020-01-10")
    assert _FakeTicker.calls == 1
    cache = tmp_path / "ABC_2020-01-02_2020-01-10.csv"
    assert cache.is_file() and detect_format(cache) == "yahoo"
    assert df.attrs["source"] == "yfinance:ABC" and len(df) == 5
    assert df.index[0] == pd.Timestamp("2020-01-02")  # tz-aware exchange dates kept
    assert df["volume"].iloc[0] == 2000.0  # backtrader's Yahoo adjustment: volume * adjfactor
    again = download_symbol("ABC", cache_dir=tmp_path, start="2020-01-02", end="2020-01-10")
    assert _FakeTicker.calls == 1
    pd.testing.assert_frame_equal(again, df)


def test_download_cache_hit_needs_no_network(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise AssertionError("network used despite a cache file")

    monkeypatch.setattr(data_download, "_yfinance_history", explode)
    write(tmp_path, YAHOO_HEADER + "2020-01-02,10,11,9,10.5,10.5,100\n"
          "2020-01-03,10.5,12,10,11,11,200\n", "XYZ_2020-01-01_2020-01-31.csv")
    df = download_symbol("xyz", cache_dir=tmp_path, start="2020-01-01", end="2020-01-31")
    assert df["close"].tolist() == [10.5, 11.0]
    assert df.attrs["source"] == "yfinance:XYZ"


def test_download_empty_result_and_bad_ticker(tmp_path, monkeypatch):
    yf = pytest.importorskip("yfinance")
    monkeypatch.setattr(yf, "Ticker", _FakeTicker)
    _FakeTicker.rows = 0
    with pytest.raises(DataError, match="could not download ABC: no rows returned .*offline"):
        download_symbol("ABC", cache_dir=tmp_path, start="2020-01-02", end="2020-01-10")
    with pytest.raises(DataError, match="invalid ticker"):
        download_symbol("rm -rf /", cache_dir=tmp_path)
    with pytest.raises(DataError, match="start 2020-02-01 is after end 2020-01-01"):
        download_symbol("ABC", cache_dir=tmp_path, start="2020-02-01", end="2020-01-01")


def _offline(monkeypatch) -> None:
    """Route every request to a closed local port: offline, whatever network this machine has."""
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_download_cache_lives_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "bt-attention-lstm" / "yfinance"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "bt-attention-lstm" / "yfinance"


def test_offline_download_reuses_the_newest_cached_copy_that_covers_it(tmp_path, monkeypatch):
    pytest.importorskip("yfinance")
    _offline(monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = default_cache_dir()
    rows = YAHOO_HEADER + "2020-01-02,10,11,9,10.5,10.5,100\n2020-01-03,10.5,12,10,11,11,200\n"
    write(folder, rows, "ABC_max_2020-01-30.csv")  # yesterday's download of everything
    write(folder, rows.replace("10.5,10.5,100", "10.5,10.5,999"), "ABC_max_2020-01-31.csv")
    write(folder, rows, "ABC_2020-01-03_2020-02-28.csv")  # starts too late for the request
    os.utime(folder / "ABC_max_2020-01-30.csv", (1, 1))
    df = download_symbol("abc", start="2020-01-02", end="2020-01-29", timeout=5)
    assert df.attrs["cache_path"] == str(folder / "ABC_max_2020-01-31.csv")
    assert df["volume"].iloc[0] == 999.0
    with pytest.raises(DataError, match=f"no cached copy of ABC covers it in {folder}"):
        download_symbol("abc", start="2020-01-02", end="2020-03-31", timeout=5)


def test_offline_download_without_cache_is_one_line_naming_the_cache(tmp_path):
    pytest.importorskip("yfinance")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    env.update({v: "http://127.0.0.1:9" for v in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY",
                                                   "https_proxy", "http_proxy", "all_proxy")})
    env["XDG_CACHE_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "runners/backtest.py", "--symbol", "ZZZ", "--out", str(tmp_path / "o")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "could not download ZZZ" in lines[0]
    assert str(tmp_path / "bt-attention-lstm" / "yfinance") in lines[0]
    assert not (tmp_path / "o").exists()


def test_a_dataframe_to_csv_file_loads_through_auto_detection(tmp_path):
    from bt_attention_lstm.models.data.synthetic import synthetic_market

    frame = synthetic_market(120)
    frame.index.name = None  # to_csv then writes a blank first header
    path = tmp_path / "frame.csv"
    frame.to_csv(path)
    assert path.read_text().splitlines()[0].startswith(",open,high")
    loaded = load_ohlcv(path)
    assert len(loaded) == 120 and loaded.index[0] == frame.index[0]
    np.testing.assert_allclose(loaded["close"].to_numpy(), frame["close"].to_numpy())


def test_repaired_cells_are_reported_with_their_bar(tmp_path, caplog):
    lines = ["Date,Open,High,Low,Close,Volume"]
    for i in range(200):
        day = (pd.Timestamp("2020-01-01") + pd.Timedelta(days=i)).date()
        close = "nan" if i == 150 else f"{100 + i * 0.1:.2f}"
        lines.append(f"{day},{100 + i * 0.1:.2f},{101 + i * 0.1:.2f},{99 + i * 0.1:.2f},{close},10")
    path = tmp_path / "gappy.csv"
    path.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger="bt_attention_lstm.models.data"):
        df = load_ohlcv(path)
    assert df.attrs["repaired_cells"] == 1
    assert "bar 2020-05-30 (close)" in caplog.text
