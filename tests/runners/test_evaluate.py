"""``runners/evaluate.py`` and its workflow: data-set names, the Sharpe standard error, the
trading baselines in backtrader, and one end-to-end evaluation with a tiny model."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.config import TrainConfig
from bt_attention_lstm.models.data.synthetic import (
    planted_edge_market,
    random_walk_market,
    synthetic_market,
)
from bt_attention_lstm.models.errors import ConfigError, DataError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.training.labels import NO_LABEL, make_labels
from bt_attention_lstm.reports.jsonsafe import dumps_strict
from bt_attention_lstm.reports.stats import probabilistic_sharpe_ratio
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.default_model import DEFAULT_TRAIN_CONFIG
from bt_attention_lstm.runners.research.evaluation import (
    EvaluateConfig,
    dataset_text,
    run_evaluation,
)
from bt_attention_lstm.runners.research.evaluation.core import (
    EvalSettings,
    default_seeds,
    evaluate_dataset,
)
from bt_attention_lstm.runners.research.evaluation.datasets import load_dataset
from bt_attention_lstm.runners.research.evaluation.report import format_report
from bt_attention_lstm.runners.research.evaluation.scoring import (
    mean_sd,
    sharpe_standard_error,
    trading_score,
)
from bt_attention_lstm.runners.research.evaluation.trading_baselines import (
    BuyAndHold,
    SmaCrossover,
    TimeSeriesMomentum,
    run_trading_baseline,
)
from tests.conftest import DATA_DIR, REPO_ROOT, subprocess_env
from tests.runners.conftest import TINY_MODEL

NO_COSTS = BrokerConfig(commission=0.0, slippage=0.0)

# -- data sets by name -------------------------------------------------------------------------


def test_synthetic_names_are_the_done_when_markets():
    name, df = load_dataset("synthetic:default")
    pd.testing.assert_frame_equal(df, synthetic_market(4000, seed=7))
    _, planted = load_dataset("synthetic:planted")
    pd.testing.assert_frame_equal(planted, planted_edge_market(3000, seed=5))
    _, walk = load_dataset("synthetic:random-walk:3")
    pd.testing.assert_frame_equal(walk, random_walk_market(4000, 3))
    _, other_path = load_dataset("synthetic:planted:11")
    pd.testing.assert_frame_equal(other_path, planted_edge_market(3000, 11))
    assert name == "synthetic:default"


@pytest.mark.parametrize(
    "spec", ["synthetic:nope", "synthetic:random-walk:x", "synthetic:planted:x", "synthetic:"]
)
def test_an_unknown_synthetic_name_is_a_data_error(spec):
    with pytest.raises(DataError, match="synthetic|seed"):
        load_dataset(spec)


def test_a_file_loads_by_path():
    name, df = load_dataset(str(DATA_DIR / "orcl-1995-2014.txt"))
    assert name == "orcl-1995-2014.txt" and len(df) == 5036


# -- Sharpe with its standard error -------------------------------------------------------------


def test_sharpe_standard_error_matches_the_normal_formula():
    rng = np.random.default_rng(0)
    x = pd.Series(rng.normal(0.0005, 0.01, 20_000))
    sharpe, se = sharpe_standard_error(x, 252.0)
    sr = x.mean() / x.std()
    assert sharpe == pytest.approx(sr * math.sqrt(252), rel=1e-12)
    # iid normal: SE(SR) = sqrt((1 + SR^2 / 2) / (n - 1)) (Lo, 2002), here to sampling noise.
    expected = math.sqrt((1 + sr * sr / 2) / (x.size - 1)) * math.sqrt(252)
    assert se == pytest.approx(expected, rel=0.02)


def test_fat_tails_widen_the_standard_error():
    rng = np.random.default_rng(1)
    fat = pd.Series(rng.standard_t(3, 20_000) * 0.01 / math.sqrt(3) + 0.003)
    sharpe, se = sharpe_standard_error(fat, 252.0)
    sr = sharpe / math.sqrt(252)
    normal_se = math.sqrt((1 + sr * sr / 2) / (fat.size - 1)) * math.sqrt(252)
    assert se > 1.05 * normal_se  # kurtosis enters through (g4 - 1) / 4 * SR^2


def test_a_strategy_that_never_trades_scores_zero():
    flat = pd.Series(np.zeros(300))
    score = trading_score(flat, 252.0, 0)
    assert (score.sharpe, score.sharpe_se, score.total_return, score.n_trades) == (0, 0, 0, 0)
    assert math.isnan(score.psr)
    x = pd.Series(np.random.default_rng(2).normal(0.001, 0.01, 500))
    assert trading_score(x, 252.0).psr == probabilistic_sharpe_ratio(x)


def test_mean_sd_over_seeds():
    assert mean_sd([1.0, 2.0, 3.0]) == {"mean": 2.0, "sd": 1.0}
    assert mean_sd([4.0]) == {"mean": 4.0, "sd": 0.0}
    assert math.isnan(mean_sd([float("nan")])["mean"])


# -- trading baselines in backtrader ------------------------------------------------------------


def path_market(log_steps: np.ndarray, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(log_steps + rng.normal(0, 0.002, log_steps.size)))
    open_ = np.r_[100.0, close[:-1]]
    index = pd.bdate_range("2010-01-01", periods=close.size, name="datetime")
    return pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close) * 1.001,
         "low": np.minimum(open_, close) * 0.999, "close": close, "volume": 1e6},
        index=index,
    )


def test_buy_and_hold_earns_the_market_on_max_position():
    df = path_market(np.full(600, 0.001))
    start = df.index[300]
    returns, entries = run_trading_baseline(df, BuyAndHold, NO_COSTS, start, max_position=0.95)
    assert entries == 1 and returns.index[0] == start
    market = df["close"].pct_change().loc[start:]
    # From the bar after the fill on, the portfolio moves with ~95% of the market.
    ratio = (returns.iloc[5:] / market.iloc[5:]).to_numpy()
    assert np.all((ratio > 0.9) & (ratio < 1.0))


def test_sma_crossover_and_tsmom_go_flat_in_a_falling_market():
    up_then_down = np.r_[np.full(400, 0.002), np.full(400, -0.002)]
    df = path_market(up_then_down)
    start = df.index[300]
    for strategy in (SmaCrossover, TimeSeriesMomentum):
        returns, entries = run_trading_baseline(df, strategy, NO_COSTS, start)
        assert entries >= 1, strategy.__name__
        # Long in the rise, out (zero returns) at the end of the fall.
        assert returns.iloc[:50].abs().sum() > 0
        assert (returns.iloc[-50:] == 0.0).all(), strategy.__name__


def test_tsmom_is_volatility_scaled():
    calm = path_market(np.full(700, 0.0008), seed=3)
    start = calm.index[400]
    returns, _ = run_trading_baseline(calm, TimeSeriesMomentum, NO_COSTS, start, target_vol=0.01)
    market = calm["close"].pct_change().loc[start:]
    # Annual vol of ~3% with a 1% target: about a third of equity in the market.
    exposure = float(np.median((returns.iloc[10:] / market.iloc[10:]).to_numpy()))
    assert 0.15 < exposure < 0.6


# -- one evaluation end to end -----------------------------------------------------------------


TINY_EVAL_TRAIN = TrainConfig(
    epochs=2, patience=1, folds=2, batch_size=128, device="cpu", horizon=5, objective="classify"
)


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory):
    """One model cache for the module: run_evaluation reuses evaluate_dataset's models."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def evaluation(model_cache):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(model_cache))
        df = planted_edge_market(1500, seed=5)
        settings = EvalSettings(
            train_fraction=0.6,
            seeds=default_seeds(2),
            train_config=TINY_EVAL_TRAIN,
            model_config=TINY_MODEL,
            strategy_params={"threshold": 0.05},
        )
        result = evaluate_dataset("planted-1500", df, settings)
    return df, result


def test_evaluation_holds_both_tables_for_every_seed(evaluation):
    df, result = evaluation
    assert result["train_bars"] == 900 and result["seeds"] == list(default_seeds(2))
    assert set(result["cv"]) == {"attention_lstm", "prior", "logistic", "boosting"}
    assert set(result["trading"]) == {"attention_lstm", "buy_and_hold", "sma_crossover", "tsmom"}
    assert len(result["trading"]["attention_lstm"]["runs"]) == 2
    assert len(result["trading"]["buy_and_hold"]["runs"]) == 1  # baselines have no seed
    assert result["oos_range"][0] == str(df.index[900])
    for run in result["runs"]:
        assert run["cv_table"]["models"][0] == "attention_lstm"
    text = format_report([result])
    assert "nested CV" in text and "tsmom" in text and "±" in text


def test_oos_prior_log_loss_is_the_training_frequencies_on_later_labels(evaluation):
    df, result = evaluation
    close = df["close"].to_numpy()
    first_window = warmup_bars() + TINY_MODEL.seq_len - 1
    train = make_labels(close[:900], 5, 0.5)[first_window:]
    prior = np.bincount(train[train != NO_LABEL], minlength=3) / (train != NO_LABEL).sum()
    later = make_labels(close, 5, 0.5)[900:]
    later = later[later != NO_LABEL]
    expected = float(-np.mean(np.log(prior[later])))
    got = result["oos_log_loss"]["prior_log_loss"]
    assert got["mean"] == pytest.approx(expected, rel=1e-12) and got["sd"] == 0.0
    for run in result["runs"]:
        oos = run["oos"]
        assert oos["excess_log_loss"] == pytest.approx(
            oos["model_log_loss"] - oos["prior_log_loss"]
        )


def test_default_seeds_start_at_the_default_models_seed():
    assert default_seeds(3) == (DEFAULT_TRAIN_CONFIG.seed, DEFAULT_TRAIN_CONFIG.seed + 1,
                                DEFAULT_TRAIN_CONFIG.seed + 2)


# -- the workflow as a library -------------------------------------------------------------------


def test_run_evaluation_evaluates_a_file_as_evaluate_dataset_does(evaluation, model_cache,
                                                                   tmp_path, monkeypatch):
    """A file of the same bars, one seed: the cached model of the first seed is reused, and every
    figure of that seed (and the seedless baselines) equals evaluate_dataset's."""
    df, direct = evaluation
    csv = tmp_path / "planted.csv"
    df.to_csv(csv, index_label="datetime")
    monkeypatch.setenv("XDG_CACHE_HOME", str(model_cache))
    seen = []
    config = EvaluateConfig(
        data=str(csv), seeds=1, train_config=TINY_EVAL_TRAIN, model_config=TINY_MODEL,
        # device and periods_per_year are the evaluation's own: these are dropped
        strategy_params={"threshold": 0.05, "device": "cuda", "periods_per_year": 1.0},
        json_path=tmp_path / "eval.json", command="a notebook",
    )
    result = run_evaluation(config, on_dataset=seen.append)
    assert config.data == (str(csv),)
    assert result.json_path == tmp_path / "eval.json"
    [got] = result.datasets
    assert seen == [got] and got["name"] == "planted.csv"
    assert got["seeds"] == [DEFAULT_TRAIN_CONFIG.seed] and got["runs"][0]["cached"]
    first = direct["runs"][0]
    assert got["runs"][0]["oos"] == first["oos"]
    assert got["runs"][0]["trading"] == first["trading"]
    for row in ("buy_and_hold", "sma_crossover", "tsmom"):
        assert got["trading"][row] == direct["trading"][row]
    written = json.loads((tmp_path / "eval.json").read_text())
    assert written == json.loads(dumps_strict(result.report))
    assert written["command"] == "a notebook"
    assert written["settings"]["strategy"] == {"threshold": 0.05}
    assert written["settings"]["seeds"] == [DEFAULT_TRAIN_CONFIG.seed]
    assert written["settings"]["model_config"] == TINY_MODEL.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.json", "planted.csv"]
    assert format_report(result.datasets) == dataset_text(got)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seeds": 0}, "`seeds` must be >= 1, got 0"),
        ({"json_path": Path("/no/such/folder/eval.json")}, "`json_path`"),
    ],
)
def test_run_evaluation_refuses_bad_settings_before_loading_anything(changes, message):
    config = EvaluateConfig(data=["synthetic:no-such-market"], **changes)
    with pytest.raises(ConfigError) as caught:
        run_evaluation(config)
    assert message in str(caught.value)


# -- command line -------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "runners" / "evaluate.py"), *args],
        capture_output=True, text=True, env=subprocess_env(), timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "synthetic:nope"], "unknown synthetic market"),
        (["--data", "synthetic:default", "--seeds", "0"], "--seeds"),
        (["--data", "synthetic:default", "--ensemble", "0"], "--ensemble"),
        (["--data", "synthetic:default", "--train-fraction", "0.99"], "train-fraction"),
        (["--data", "/no/such/file.csv"], "file.csv"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_ensemble_flag_sets_the_members_and_keeps_the_rest_of_the_default_config():
    from bt_attention_lstm.runners.cli.evaluate_args import build_parser, config_from_args
    from bt_attention_lstm.runners.research.default_model import DEFAULT_TRAIN_CONFIG

    parser = build_parser()
    assert config_from_args(parser.parse_args(["--data", "x.csv"])).train_config is None
    args = parser.parse_args(["--data", "x.csv", "--ensemble", "1"])
    assert config_from_args(args).train_config == dataclasses.replace(
        DEFAULT_TRAIN_CONFIG, ensemble=1, device=args.device
    )


def test_help_lists_the_synthetic_markets():
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "synthetic:random-walk:SEED" in proc.stdout and "--seeds" in proc.stdout
