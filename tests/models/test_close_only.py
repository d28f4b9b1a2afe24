"""Close-only and wide price files: loading, ``path#SYMBOL``, error lines, auto-detection, and
close-only frames through compute_features."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from bt_attention_lstm.models.data import (
    OHLCV_COLUMNS,
    data_fingerprint,
    detect_format,
    load_ohlcv,
    load_price_panel,
    load_sources,
    select_range,
    wide_symbols,
)
from bt_attention_lstm.models.data.price_panel import classify_columns, split_source
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.features.compute import compute_features, warmup_bars
from bt_attention_lstm.models.features.spec import FeatureSpec
from tests.conftest import DATA_DIR

DATA = DATA_DIR
WIDE = DATA / "us-stocks-close-1990-2022.csv"
KO_CLOSE = DATA / "ko-close-2000-2014.csv"
SYMBOLS = ["AAPL", "AMD", "BAC", "CVX", "HD", "JNJ", "KO", "PFE", "UNH", "WMT"]
LOGGER = "bt_attention_lstm.models.data"


def read_columns(path: Path) -> tuple[list[str], dict[str, list[float]]]:
    """The file's dates and columns, read with the csv module (independent of the loader)."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    columns = {name: [float(r[k]) if r[k] else np.nan for r in body]
               for k, name in enumerate(header[1:], start=1)}
    return [r[0] for r in body], columns


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def close_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "close-only data" in r.getMessage()]


@pytest.fixture(scope="module")
def panel() -> dict[str, pd.DataFrame]:
    return load_price_panel(WIDE)


@pytest.fixture(scope="module")
def wide_csv() -> tuple[list[str], dict[str, list[float]]]:
    return read_columns(WIDE)


# ------------------------------------------------------------------------------ the wide file


def test_the_shipped_wide_file_loads_as_ten_close_only_frames(panel, wide_csv):
    dates, columns = wide_csv
    assert list(panel) == SYMBOLS == list(columns)  # column order kept
    expected_index = pd.DatetimeIndex(pd.to_datetime(dates), name="datetime").as_unit("ns")
    for symbol, df in panel.items():
        assert tuple(df.columns) == OHLCV_COLUMNS
        assert all(dt == np.float64 for dt in df.dtypes)
        assert len(df) == 8313
        pd.testing.assert_index_equal(df.index, expected_index)
        np.testing.assert_array_equal(df["close"].to_numpy(), np.array(columns[symbol]))
        for col in ("open", "high", "low"):
            np.testing.assert_array_equal(df[col].to_numpy(), df["close"].to_numpy())
        assert (df["volume"] == 0.0).all()
        assert df.attrs["source"] == f"{WIDE}#{symbol}"
        assert df.attrs["symbol"] == symbol
        assert df.attrs["format"] == "wide"
        assert df.attrs["close_only"] is True
        assert df.attrs["repaired_cells"] == 0
    assert panel["KO"]["close"].iloc[0] == 2.235 and panel["KO"]["close"].iloc[-1] == 62.609
    assert panel["AAPL"].index[0] == pd.Timestamp("1990-01-02")
    assert panel["AAPL"].index[-1] == pd.Timestamp("2022-12-28")


def test_a_panel_load_logs_one_warning_naming_the_degraded_features(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        load_price_panel(WIDE, symbols=["KO", "PFE"])
    (line,) = close_warnings(caplog)
    assert "(2 symbols)" in line
    assert "ATR becomes a close-to-close range" in line and "volume features are 0" in line


def test_path_hash_symbol_loads_that_column_as_load_ohlcv(panel, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        ko = load_ohlcv(f"{WIDE}#KO")
    assert len(close_warnings(caplog)) == 1
    pd.testing.assert_frame_equal(ko, panel["KO"])
    assert ko.attrs == panel["KO"].attrs
    # the symbol is matched case-insensitively when that is unambiguous; attrs name the column
    lower = load_ohlcv(f"{WIDE}#ko", fmt="wide")
    assert lower.attrs["symbol"] == "KO" and lower.attrs["source"] == f"{WIDE}#KO"
    pd.testing.assert_frame_equal(lower, ko)
    # a subset of the panel, in the order asked for
    assert list(load_price_panel(WIDE, symbols=["WMT", "aapl"])) == ["WMT", "AAPL"]
    assert list(load_price_panel(f"{WIDE}#HD")) == ["HD"]


def test_a_wide_file_without_a_symbol_names_its_symbols_in_one_line():
    expected = (
        f"{WIDE} is a wide price file with 10 symbols (AAPL, AMD, BAC, CVX, HD, JNJ, KO, PFE, "
        f"UNH, WMT): choose one with {WIDE}#SYMBOL, or train one model on all of them"
    )
    for fmt in ("auto", "wide", "close"):
        with pytest.raises(DataError) as info:
            load_ohlcv(WIDE, fmt=fmt)
        assert str(info.value) == expected


def test_unknown_symbol_and_symbol_of_an_ohlcv_file_are_one_line_errors(tmp_path):
    with pytest.raises(DataError) as info:
        load_ohlcv(f"{WIDE}#MSFT")
    assert str(info.value) == (
        f"{WIDE} has no symbol 'MSFT'; its symbols: AAPL, AMD, BAC, CVX, HD, JNJ, KO, PFE, "
        "UNH, WMT"
    )
    with pytest.raises(DataError, match="has no symbol 'MSFT'"):
        load_price_panel(WIDE, symbols=["KO", "MSFT"])
    orcl = DATA / "orcl-1995-2014.txt"
    with pytest.raises(DataError) as info:
        load_ohlcv(f"{orcl}#ORCL")
    assert str(info.value) == (
        f"{orcl}#ORCL: {orcl} is not a wide price file (it reads as yahoo bars); drop #ORCL"
    )
    with pytest.raises(DataError, match=r"data file not found: .*nope\.csv$"):
        load_ohlcv(f"{tmp_path / 'nope.csv'}#KO")
    with pytest.raises(DataError, match="not a wide price file \\(it reads as close\\)"):
        load_price_panel(KO_CLOSE)
    with pytest.raises(DataError, match="not a wide price file \\(it reads as yahoo\\)"):
        load_price_panel(orcl)
    with pytest.raises(DataError, match="not a close-only or wide price file \\(it reads as yahoo"):
        load_ohlcv(orcl, fmt="close")


def test_a_symbol_listed_later_starts_later_and_isolated_gaps_are_repaired(tmp_path, caplog):
    dates = pd.bdate_range("2020-01-01", periods=200)
    a = (100.0 + np.arange(200.0)).tolist()
    b = (50.0 + np.arange(200.0) / 2).tolist()
    c = (20.0 + np.arange(200.0) / 4).tolist()
    rows = []
    for i, day in enumerate(dates):
        b_cell = "" if i < 30 else repr(b[i])  # listed on the 31st day
        c_cell = "NaN" if i == 100 else ("" if i >= 190 else repr(c[i]))  # a gap, then delisted
        rows.append(f"{day.date()},{a[i]!r},{b_cell},{c_cell}")
    path = write(tmp_path, "Date,A,B,C\n" + "\n".join(rows) + "\n")
    assert detect_format(path) == "wide" and wide_symbols(path) == ["A", "B", "C"]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        got = load_price_panel(path)
    assert len(got["A"]) == 200 and got["A"].attrs["repaired_cells"] == 0
    assert got["B"].index[0] == dates[30] and len(got["B"]) == 170
    np.testing.assert_array_equal(got["B"]["close"].to_numpy(), b[30:])
    assert got["B"].attrs["repaired_cells"] == 0  # leading rows are not gaps
    assert got["C"].index[-1] == dates[189] and len(got["C"]) == 190  # trailing rows dropped
    expected_c = np.array(c[:190])
    expected_c[100] = c[99]  # the isolated gap is forward-filled
    np.testing.assert_array_equal(got["C"]["close"].to_numpy(), expected_c)
    for col in ("open", "high", "low"):
        np.testing.assert_array_equal(got["C"][col].to_numpy(), expected_c)
    assert got["C"].attrs["repaired_cells"] == 4  # open, high, low and close of one row
    assert any("30 leading and 0 trailing rows" in r.getMessage() for r in caplog.records)


def test_bad_cells_of_a_wide_file_name_the_symbol(tmp_path):
    path = write(tmp_path, "Date,A,B\n2020-01-01,1,2\n2020-01-02,1.5,oops\n")
    with pytest.raises(DataError, match=r"non-numeric value 'oops' in column 'B' at row 2"):
        load_price_panel(path)
    path = write(tmp_path, "Date,A,B\n2020-01-01,1,\n2020-01-02,1.5,\n")
    with pytest.raises(DataError, match=r"prices\.csv#B: no prices"):
        load_ohlcv(f"{path}#B")
    gaps = "\n".join(f"2020-01-{d:02d},{d},{'' if d % 2 else d}" for d in range(1, 29))
    path = write(tmp_path, "Date,A,B\n" + gaps + "\n")
    with pytest.raises(DataError, match=r"prices\.csv#B: .* too many to repair"):
        load_price_panel(path)
    path = write(tmp_path, "Date,A,B,A\n2020-01-01,1,2,3\n")
    with pytest.raises(DataError, match=r"prices\.csv: column 'A' appears more than once"):
        load_price_panel(path)
    path = write(tmp_path, "Date,A,B\n2020-01-01,1,2\n2020-01-02,-1,3\n")
    with pytest.raises(DataError, match=r"prices\.csv#A: non-positive price at 2020-01-02"):
        load_price_panel(path)


# ------------------------------------------------------------------------------ Date,Close


def test_the_shipped_close_file_equals_the_wide_file_column(panel, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        ko = load_ohlcv(KO_CLOSE)
    assert len(close_warnings(caplog)) == 1
    assert detect_format(KO_CLOSE) == "close"
    assert len(ko) == 3773
    assert ko.index[0] == pd.Timestamp("2000-01-03") and ko.index[-1] == pd.Timestamp("2014-12-31")
    assert ko["close"].iloc[0] == 14.782 and ko["close"].iloc[-1] == 32.164
    wide_ko = select_range(panel["KO"], "2000-01-01", "2014-12-31")
    pd.testing.assert_frame_equal(ko, wide_ko)
    assert data_fingerprint(ko) == data_fingerprint(wide_ko)
    assert ko.attrs["source"] == str(KO_CLOSE)
    assert ko.attrs["format"] == "close" and ko.attrs["close_only"] is True
    assert "symbol" not in ko.attrs


def test_ohlcv_frames_say_they_are_not_close_only():
    df = load_ohlcv(DATA / "orcl-1995-2014.txt")
    assert df.attrs["close_only"] is False


def test_fingerprints_of_close_only_frames_are_stable_and_tell_symbols_apart(panel):
    prints = {s: data_fingerprint(df) for s, df in panel.items()}
    assert len(set(prints.values())) == 10
    assert data_fingerprint(load_ohlcv(f"{WIDE}#PFE")) == prints["PFE"]
    assert all(len(p) == 64 and int(p, 16) >= 0 for p in prints.values())


# ------------------------------------------------------------------------------ detection


DETECTION = [
    # header, first row, format, price columns used
    ("Date,Close", "2020-01-02,10.5", "close", ["Close"]),
    ("date,adj_close", "2020-01-02,10.5", "close", ["adj_close"]),
    ("Datetime,Price", "2020-01-02 10:00,10.5", "close", ["Price"]),
    ("Date,KO", "2020-01-02,10.5", "close", ["KO"]),  # any single numeric column
    ("Date,Close,Adj Close", "2020-01-02,11.0,10.5", "close", ["Adj Close"]),
    ("Date,Time,Close", "2020-01-02,10:00,10.5", "close", ["Close"]),
    ("Date,AAPL,MSFT", "2020-01-02,10.5,20.5", "wide", ["AAPL", "MSFT"]),
    (",AAPL,MSFT", "2020-01-02,10.5,20.5", "wide", ["AAPL", "MSFT"]),  # pandas' to_csv()
    ("timestamp;A;B;C", "2020-01-02;1;2;3", "wide", ["A", "B", "C"]),
    # anything with a bar field stays an OHLCV layout
    ("Date,Close,Volume", "2020-01-02,10.5,100", "generic", []),
    ("date,open,high,close,volume", "2020-01-02,1,2,1.5,3", "generic", []),
    ("Date,Open,High,Low,Close,Adj Close,Volume", "2020-01-02,1,2,0.5,1.5,1.4,3", "yahoo", []),
    ("when,AAPL,MSFT", "2020-01-02,10.5,20.5", "generic", []),  # no time column: not ours
    ("Date,Close,Signal", "2020-01-02,10.5,1", "generic", []),
]


@pytest.mark.parametrize(("header", "row", "fmt", "used"), DETECTION,
                         ids=[d[0] or "blank" for d in DETECTION])
def test_auto_detection_of_close_only_and_wide_layouts(tmp_path, header, row, fmt, used):
    path = write(tmp_path, f"{header}\n{row}\n")
    assert detect_format(path) == fmt
    assert wide_symbols(path) == (used if fmt == "wide" else [])
    if fmt == "close":
        df = load_ohlcv(path)
        assert df.attrs["format"] == "close" and df["close"].iloc[0] == 10.5
        assert df["open"].iloc[0] == df["high"].iloc[0] == df["low"].iloc[0] == 10.5
    elif fmt == "wide":
        got = load_price_panel(path)
        assert list(got) == used
        assert [df["close"].iloc[0] for df in got.values()] == [
            float(x) for x in row.replace(";", ",").split(",")[1:]
        ]


def test_classify_columns_and_split_source_rules():
    assert classify_columns(["AAPL", "MSFT"], has_time_index=True).columns == ("AAPL", "MSFT")
    assert classify_columns(["AAPL", "MSFT"]) is None  # no time at all
    layout = classify_columns(["Date", "Close", "Adj Close"])
    assert (layout.kind, layout.columns, layout.ignored) == ("close", ("Adj Close",), ("Close",))
    assert classify_columns(["Date"]) is None
    assert split_source("prices.csv#KO") == ("prices.csv", "KO")
    assert split_source("a#b/prices.csv#BRK.B") == ("a#b/prices.csv", "BRK.B")
    assert split_source("prices.csv") == ("prices.csv", None)
    with pytest.raises(DataError, match="PATH#SYMBOL"):
        split_source("prices.csv#")


def test_an_existing_file_with_a_hash_in_its_name_is_not_split(tmp_path):
    path = write(tmp_path, "Date,Close\n2020-01-02,10.5\n", name="ko#1.csv")
    assert split_source(str(path)) == (str(path), None)
    assert load_ohlcv(path)["close"].tolist() == [10.5]


def test_parquet_wide_and_close_only_files(tmp_path):
    pytest.importorskip("pyarrow")
    idx = pd.date_range("2020-01-01", periods=5, freq="D", name="Date")
    wide = pd.DataFrame({"AAA": [1.0, 2, 3, 4, 5], "BBB": [np.nan, 2, 3, 4, 5]}, index=idx)
    wide.to_parquet(tmp_path / "w.parquet")
    assert detect_format(tmp_path / "w.parquet") == "wide"
    got = load_price_panel(tmp_path / "w.parquet")
    assert list(got) == ["AAA", "BBB"]
    assert got["BBB"].index[0] == pd.Timestamp("2020-01-02")
    np.testing.assert_array_equal(got["BBB"]["close"].to_numpy(), [2.0, 3, 4, 5])
    wide[["AAA"]].reset_index().rename(columns={"AAA": "close"}).to_parquet(tmp_path / "c.pq")
    assert detect_format(tmp_path / "c.pq") == "close"
    # an explicit "parquet" format still finds the close-only layout
    df = load_ohlcv(tmp_path / "c.pq", fmt="parquet")
    assert df.attrs["close_only"] is True and df["close"].tolist() == [1.0, 2, 3, 4, 5]


def test_load_sources_reads_each_wide_file_once_and_keeps_the_order(panel, caplog):
    orcl = DATA / "orcl-1995-2014.txt"
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        frames = load_sources([f"{WIDE}#KO", str(orcl), f"{WIDE}#AAPL"])
    assert [f.attrs["source"] for f in frames] == [f"{WIDE}#KO", str(orcl), f"{WIDE}#AAPL"]
    assert len(close_warnings(caplog)) == 1
    pd.testing.assert_frame_equal(frames[0], panel["KO"])
    pd.testing.assert_frame_equal(frames[2], panel["AAPL"])
    assert frames[1].attrs["close_only"] is False
    with pytest.raises(DataError, match="not a wide price file"):
        load_sources([f"{orcl}#ORCL"])


# ------------------------------------------------------------------------------ features


def test_a_close_only_frame_has_finite_features_after_the_warm_up():
    df = load_ohlcv(KO_CLOSE)
    spec = FeatureSpec()
    feats = compute_features(df, spec, names=spec.line_names)
    warm = warmup_bars(spec)
    after = feats.iloc[warm:]
    assert len(after) == len(df) - warm > 3000
    assert np.isfinite(after.to_numpy()).all()
    assert feats.iloc[:warm].isna().all(axis=None)
    c = df["close"].to_numpy()
    # no high/low: the bar range and the close's place in it are 0, volume z-score is 0
    for name in ("hl_range", "close_location", "volume_z_20"):
        if name in feats:
            np.testing.assert_array_equal(after[name].to_numpy(), 0.0)
    if "atr_ratio" in feats:
        # ATR of close-only bars is Wilder's average of |close - previous close|
        tr = talib.TRANGE(c, c, c)
        np.testing.assert_allclose(tr[1:], np.abs(np.diff(c)), rtol=0, atol=1e-12)
        atr = talib.ATR(c, c, c, timeperiod=spec.atr_period)
        np.testing.assert_allclose(after["atr_ratio"].to_numpy(), (atr / c)[warm:], rtol=1e-12)
        assert (after["atr_ratio"] > 0).all()
    # the close-based features are the OHLCV ones: nret_1 uses the close only
    if "ret_1" in feats:
        np.testing.assert_allclose(after["ret_1"].to_numpy(), np.diff(np.log(c))[warm - 1:],
                                   rtol=1e-12)


def test_a_model_whose_inputs_read_high_low_refuses_the_other_kind_of_bars():
    from bt_attention_lstm.models.features.spec import FeatureSpec, v1_spec

    assert FeatureSpec().data_mismatch(trained_close_only=False, data_close_only=True) is None
    assert FeatureSpec().data_mismatch(trained_close_only=True, data_close_only=False) is None
    v1 = v1_spec()
    assert v1.data_mismatch(trained_close_only=False, data_close_only=False) is None
    problem = v1.data_mismatch(trained_close_only=False, data_close_only=True)
    assert problem is not None and "cannot read closes only" in problem
    assert "trained on closes only" in (v1.data_mismatch(True, False) or "")
