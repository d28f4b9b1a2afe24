"""Walk-forward: fold boundaries (no test bar in training, gap >= label horizon, rolling vs
expanding, step), one fold trains on its past and trades only its test window, stitching chains
the folds, and ``python runners/walkforward.py`` end to end and on bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.errors import ConfigError, DataError, UserInputError
from bt_attention_lstm.models.training.labels import NO_LABEL, make_labels
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.walkforward.fold import FoldSettings, fold_jobs, run_fold
from bt_attention_lstm.runners.research.walkforward.plan import bars_needed, plan_folds
from bt_attention_lstm.runners.research.walkforward.stitch import FOLD_COLUMNS, fold_table, stitch
from tests.conftest import REPO_ROOT, subprocess_env
from tests.runners.conftest import (
    TEST_BARS,
    TINY_MODEL,
    TINY_STRATEGY,
    TINY_TRAIN,
    TRAIN_BARS,
)

CASES = [
    # n_bars, train, test, gap, step, expanding
    (2000, 500, 200, 5, None, False),
    (2000, 500, 200, 5, None, True),
    (2000, 500, 200, 5, 300, False),
    (2000, 300, 100, 10, 250, True),
    (705, 500, 200, 5, None, False),  # exactly one fold
]


# -- fold planning -----------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "train", "test", "gap", "step", "expanding"), CASES)
def test_no_test_bar_is_ever_in_its_folds_training_range(n, train, test, gap, step, expanding):
    for plan in plan_folds(n, train, test, gap, step, expanding):
        train_bars = set(range(plan.train_start, plan.train_end))
        test_bars = set(range(plan.test_start, plan.test_end))
        assert not train_bars & test_bars
        assert plan.train_end + gap <= plan.test_start  # the gap lies between them
        assert 0 <= plan.train_start < plan.train_end and plan.test_end <= n


@pytest.mark.parametrize(("n", "train", "test", "gap", "step", "expanding"), CASES)
def test_rolling_and_expanding_windows_and_step(n, train, test, gap, step, expanding):
    plans = plan_folds(n, train, test, gap, step, expanding)
    stride = step or test
    assert [p.fold for p in plans] == list(range(1, len(plans) + 1))
    assert [p.test_start for p in plans] == [train + gap + k * stride for k in range(len(plans))]
    assert all(p.test_bars == test for p in plans)
    # as many folds as fit, and not one more
    assert plans[-1].test_end <= n < plans[-1].test_start + stride + test
    for p in plans:
        assert p.train_end == p.test_start - gap
        if expanding:
            assert p.train_start == 0
        else:
            assert p.train_bars == train
    # test windows are disjoint and in time order
    for a, b in zip(plans, plans[1:], strict=False):
        assert a.test_end <= b.test_start


def test_training_labels_never_read_a_test_bar(orcl_df):
    """Labels computed on a fold's training slice look ``horizon`` bars ahead: the furthest bar
    any of them reads still lies before the test window, with the gap to spare."""
    horizon = 5
    close = orcl_df["close"].to_numpy()
    for plan in plan_folds(len(close), 1000, 400, horizon):
        labels = make_labels(close[plan.train_start : plan.train_end], horizon)
        last_labelled = plan.train_start + int(np.flatnonzero(labels != NO_LABEL)[-1])
        furthest_read = last_labelled + horizon
        assert furthest_read < plan.train_end <= plan.test_start - horizon


def test_too_few_bars_says_how_many_are_needed():
    with pytest.raises(DataError, match=f"at least {bars_needed(500, 200, 5)} bars"):
        plan_folds(704, 500, 200, 5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step": 100}, "`step`=100 must be >= `test_bars`=200"),
        ({"step": 0}, "`step` must be a positive integer"),
        ({"train_bars": 0}, "`train_bars` must be a positive integer"),
        ({"test_bars": -5}, "`test_bars` must be a positive integer"),
    ],
)
def test_bad_fold_settings_are_refused(kwargs, message):
    args = {"n_bars": 2000, "train_bars": 500, "test_bars": 200, "gap": 5, **kwargs}
    with pytest.raises(ConfigError, match=message):
        plan_folds(**args)


# -- one fold and stitching --------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_folds(tiny_market, tmp_path_factory):
    """The two tiny folds, run in this process, their models kept for inspection."""
    settings = FoldSettings(TINY_MODEL, TINY_TRAIN, dict(TINY_STRATEGY), BrokerConfig(), 252.0)
    plans = plan_folds(len(tiny_market), TRAIN_BARS, TEST_BARS, TINY_TRAIN.horizon)
    keep = tmp_path_factory.mktemp("fold_models")
    return plans, [run_fold(job) for job in fold_jobs(tiny_market, plans, settings, 1, keep)]


def test_a_fold_trains_before_and_trades_only_its_test_window(tiny_market, two_folds):
    plans, outcomes = two_folds
    assert len(outcomes) == 2
    for plan, outcome in zip(plans, outcomes, strict=True):
        test_index = tiny_market.index[plan.test_start : plan.test_end]
        assert outcome.returns.index.equals(test_index)
        trained_start, trained_end = load_artifact(outcome.model_path).trained_range
        assert pd.Timestamp(trained_start) == tiny_market.index[plan.train_start]
        assert pd.Timestamp(trained_end) == tiny_market.index[plan.train_end - 1]
        assert pd.Timestamp(trained_end) < test_index[0]
        if len(outcome.trades):
            assert pd.to_datetime(outcome.trades["entry_time"]).min() >= test_index[0]
        assert outcome.val_loss is not None and np.isfinite(outcome.val_loss)
    assert sum(o.n_trades for o in outcomes) > 0  # the checks above saw real trades


def test_stitching_chains_the_folds_returns(tiny_market, two_folds):
    _, outcomes = two_folds
    stitched = stitch(list(reversed(outcomes)), tiny_market["close"], 100_000.0)
    expected_index = outcomes[0].returns.index.append(outcomes[1].returns.index)
    assert stitched.returns.index.equals(expected_index)
    total = np.prod(1 + stitched.returns["strategy"].to_numpy()) - 1
    per_fold = np.prod([1 + o.oos_return for o in outcomes]) - 1
    assert total == pytest.approx(per_fold, rel=1e-12)
    assert stitched.final_value == pytest.approx(100_000.0 * (1 + total), rel=1e-12)
    bench = tiny_market["close"].pct_change().reindex(expected_index)
    assert stitched.returns["benchmark"].iloc[0] == 0.0
    np.testing.assert_allclose(stitched.returns["benchmark"].iloc[1:], bench.iloc[1:])
    assert len(stitched.trades) == sum(o.n_trades for o in outcomes)
    table = fold_table(outcomes)
    assert list(table.columns) == list(FOLD_COLUMNS)
    assert table["n_trades"].tolist() == [o.n_trades for o in outcomes]


# -- the command line ------------------------------------------------------------------------
# Every command-line run is started at once by one fixture (they are mostly start-up time on a
# shared machine), and the tests below read their results.

TINY_FLAGS = [
    "--hidden", "8", "--layers", "1", "--heads", "1", "--seq-len", "10", "--dropout", "0",
    "--epochs", "1", "--folds", "2", "--patience", "1", "--seed", "5", "--threshold", "0.05",
    "--batch-size", "128", "--quiet", "--calibration", "none", "--objective", "classify",
]
FOLDS = ["--train-bars", str(TRAIN_BARS), "--test-bars", str(TEST_BARS)]
# Run as real subprocesses (exit code 2 and one line on stderr) ...
BAD_INPUT = {
    "too few bars": (["--train-bars", "800", "--test-bars", "180"], "needs at least 985 bars"),
}
BAD_ADDRESS = {
    "unreachable address": (
        [*FOLDS, "--engine", "ray", "--address", "ray://127.0.0.1:1"], "cannot reach"
    ),
}
# ... and, cheaper, through main() in this process (the typed error run_main turns into exit 2).
REFUSED_IN_MAIN = {
    "overlapping steps": ([*FOLDS, "--step", "90"], "`step`=90"),
    "tiny training window": (
        ["--train-bars", "60", "--test-bars", "180"], "`train_bars`=60 is too few"
    ),
    "negative cash": ([*FOLDS, "--cash", "-1"], "--cash must be positive"),
    "malformed address": ([*FOLDS, "--engine", "ray", "--address", "no address"], "is not auto"),
    "address without ray": ([*FOLDS, "--address", "auto"], "only applies to `engine`=ray"),
}
TIMEOUT = 300


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "runners/walkforward.py", *args, *TINY_FLAGS],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def cli_runs(market_csv_module, tmp_path_factory):
    """name -> (return code, stdout, stderr, out dir) of every command-line run."""
    root = tmp_path_factory.mktemp("wf_cli")
    cases = {"good": ([*FOLDS, "--workers", "1"], "")} | BAD_INPUT
    try:
        import ray  # noqa: F401

        cases |= BAD_ADDRESS
    except ImportError:
        pass
    procs = {
        name: start_cli("--data", str(market_csv_module), *flags, "--out", str(root / name))
        for name, (flags, _) in cases.items()
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=TIMEOUT)
        results[name] = (proc.returncode, out, err, root / name)
    return results


@pytest.fixture(scope="module")
def market_csv_module(tiny_market, tmp_path_factory):
    path = tmp_path_factory.mktemp("wf_data") / "market.csv"
    tiny_market.to_csv(path, index_label="datetime")
    return path


def test_cli_writes_folds_and_an_out_of_sample_report(cli_runs, two_folds):
    code, stdout, stderr, out = cli_runs["good"]
    assert code == 0, stderr
    assert "engine: local" in stdout
    names = {p.name for p in out.iterdir()}
    assert {"folds.csv", "tearsheet.html", "metrics.json", "returns.csv", "trades.csv",
            "chart.png"} <= names
    folds = pd.read_csv(out / "folds.csv")
    assert list(folds.columns) == list(FOLD_COLUMNS) and len(folds) == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["in_sample"] is False
    assert metrics["model"]["kind"] == "walk-forward" and metrics["model"]["n_folds"] == 2
    assert metrics["period"]["bars"] == 2 * TEST_BARS
    # the command line's folds are the library's folds (same seed, same data)
    _, outcomes = two_folds
    np.testing.assert_allclose(folds["oos_return"], [o.oos_return for o in outcomes], rtol=1e-9)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize("name", [*BAD_INPUT, *BAD_ADDRESS])
def test_cli_bad_input_is_one_line_and_exit_2(cli_runs, name):
    if name not in cli_runs:
        pytest.skip("Ray is not installed")
    code, _, stderr, out = cli_runs[name]
    message = {**BAD_INPUT, **BAD_ADDRESS}[name][1]
    assert code == 2, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and message in last, last
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.parametrize("name", list(REFUSED_IN_MAIN))
def test_main_refuses_bad_settings_before_any_work(market_csv, tmp_path, monkeypatch, name):
    from bt_attention_lstm.runners import walkforward

    if "address" in name and "ray" in REFUSED_IN_MAIN[name][0]:
        pytest.importorskip("ray")
    flags, message = REFUSED_IN_MAIN[name]
    out = tmp_path / "never"
    argv = ["walkforward.py", "--data", str(market_csv), *flags, *TINY_FLAGS, "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(UserInputError, match=re.escape(message)):
        walkforward.main()
    assert not out.exists()


# -- the library call ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library_run(market_csv_module, tmp_path_factory):
    from bt_attention_lstm.runners.research.walkforward import WalkForwardConfig, run_walkforward

    config = WalkForwardConfig(
        data=str(market_csv_module), train_bars=TRAIN_BARS, test_bars=TEST_BARS,
        model=TINY_MODEL, training=TINY_TRAIN, strategy_params=TINY_STRATEGY, workers=1,
        out=tmp_path_factory.mktemp("wf_lib") / "report", html=False,
    )
    return config, run_walkforward(config)


def test_run_walkforward_folds_never_train_on_their_test_window(library_run, tiny_market):
    config, result = library_run
    assert len(result.outcomes) == 2 and result.engine == "local"
    for outcome in result.outcomes:
        plan = outcome.plan
        assert plan.train_end + config.training.horizon <= plan.test_start
        assert pd.Timestamp(outcome.train_range[1]) < pd.Timestamp(outcome.test_range[0])
        assert outcome.returns.index.equals(tiny_market.index[plan.test_start : plan.test_end])
    assert result.metrics["in_sample"] is False
    assert result.metrics["model"]["n_folds"] == 2


def test_run_walkforward_metrics_are_those_of_the_stitched_returns(
    library_run, two_folds, tiny_market
):
    from bt_attention_lstm.models.data import infer_periods_per_year
    from bt_attention_lstm.reports import compute_metrics

    _, result = library_run
    stitched = result.stitched
    periods_per_year = infer_periods_per_year(tiny_market.index)
    expected = compute_metrics(
        stitched.returns, stitched.trades, stitched.exposure, periods_per_year
    )
    assert expected  # a comparison of something
    for key, value in expected.items():
        assert result.metrics[key] == (pytest.approx(value, nan_ok=True)
                                       if isinstance(value, float) else value), key
    # the same folds as when they are run one by one (same seed, same data)
    _, outcomes = two_folds
    np.testing.assert_allclose(result.folds["oos_return"], [o.oos_return for o in outcomes])


def test_run_walkforward_writes_its_report_where_it_says(library_run):
    config, result = library_run
    assert result.out == config.out
    names = {p.name for p in result.out.iterdir()}
    assert {"folds.csv", "metrics.json", "returns.csv", "trades.csv", "chart.png"} <= names
    assert "tearsheet.html" not in names  # html=False
    assert json.loads((result.out / "metrics.json").read_text())["in_sample"] is False


def test_plan_walkforward_refuses_bad_settings_before_writing(market_csv, tmp_path):
    from bt_attention_lstm.runners.research.walkforward import WalkForwardConfig, plan_walkforward

    out = tmp_path / "never"
    config = WalkForwardConfig(data=str(market_csv), train_bars=TRAIN_BARS, test_bars=TEST_BARS,
                               step=90, training=TINY_TRAIN, out=out)
    with pytest.raises(ConfigError, match=re.escape("`step`=90 must be >= `test_bars`=180")):
        plan_walkforward(config)
    assert not out.exists()

