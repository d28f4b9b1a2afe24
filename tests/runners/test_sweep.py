"""Sweep: the search space (default, JSON overrides, validation, seeded sampling), a 2-trial Ray
Tune sweep scored out of sample only, best.json's deflated Sharpe ratio, and bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.errors import ConfigError, UserInputError
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.reports import deflated_sharpe_ratio, probabilistic_sharpe_ratio
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.sweep.report import (
    DSR_NOTE,
    TRIAL_COLUMNS,
    best_summary,
    trials_table,
    write_sweep_report,
)
from bt_attention_lstm.runners.research.sweep.space import (
    DEFAULT_SPACE,
    PARAMS,
    load_space,
    sample_configs,
    validate_space,
)
from bt_attention_lstm.runners.research.sweep.trial import SweepSettings, TrialJob, run_trial
from bt_attention_lstm.runners.research.walkforward.plan import plan_folds
from tests.conftest import REPO_ROOT, subprocess_env
from tests.runners.conftest import TEST_BARS, TINY_TRAIN, TRAIN_BARS

TINY_SPACE = {
    "hidden": [8],
    "layers": 1,
    "heads": [1, 2],
    "seq_len": [10],
    "dropout": {"uniform": [0.0, 0.2]},
    "lr": {"loguniform": [1e-3, 3e-3]},
    "threshold": {"uniform": [0.02, 0.1]},
}

# -- the search space --------------------------------------------------------------------------


def test_default_space_is_the_documented_one():
    space = load_space(None)
    assert space == DEFAULT_SPACE
    assert space["hidden"] == [16, 32, 64, 128] and space["layers"] == [1, 2]
    assert space["heads"] == [1, 2, 4] and space["seq_len"] == [10, 20, 30]
    assert space["dropout"] == {"uniform": [0.0, 0.4]}
    assert space["lr"] == {"loguniform": [1e-4, 3e-3]}
    assert space["threshold"] == {"uniform": [0.05, 0.4]}


def test_a_space_file_overrides_only_its_entries(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"hidden": [32], "dropout": 0.1}))
    space = load_space(str(path))
    assert space["hidden"] == [32] and space["dropout"] == 0.1
    assert space["lr"] == DEFAULT_SPACE["lr"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"hiden": [8]}, "unknown parameter(s) hiden"),
        ([8, 16], "expected a JSON object"),
        ({"hidden": []}, "empty list"),
        ({"hidden": [8.5]}, "must be an integer"),
        ({"hidden": {"uniform": [8, 16]}}, "hidden must be a list or a number"),
        ({"dropout": {"normal": [0, 1]}}, "dropout must be a list, a number"),
        ({"dropout": {"uniform": [0.3, 0.1]}}, "needs 0 < lo < hi"),
        ({"lr": {"loguniform": [0.01]}}, "needs [lo, hi]"),
        ({"dropout": {"uniform": [0.0, 1.0]}}, "outside [0, 1)"),
        ({"threshold": "high"}, "must be a number"),
        ({"hidden": [10], "heads": [4]}, "no heads choice in [4] divides hidden = 10"),
        ({"layers": True}, "must be an integer"),
    ],
)
def test_bad_spaces_are_refused_with_the_reason(raw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_space(raw)


def test_sampling_is_seeded_inside_the_space_and_heads_divide_hidden():
    space = load_space(None)
    configs = sample_configs(space, 200, seed=3)
    assert configs == sample_configs(space, 200, seed=3)
    assert configs != sample_configs(space, 200, seed=4)
    for c in configs:
        assert list(c) == list(PARAMS)
        assert c["hidden"] in space["hidden"] and c["layers"] in space["layers"]
        assert c["seq_len"] in space["seq_len"] and c["hidden"] % c["heads"] == 0
        assert 0.0 <= c["dropout"] <= 0.4 and 0.05 <= c["threshold"] <= 0.4
        assert 1e-4 <= c["lr"] <= 3e-3
    lrs = np.log10([c["lr"] for c in configs])
    assert lrs.min() < -3.4 and lrs.max() > -2.7  # log-uniform: both decades are visited
    assert {c["heads"] for c in configs} == {1, 2, 4}


# -- a 2-trial sweep on a local Ray ------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep_settings(tiny_market) -> SweepSettings:
    plans = plan_folds(len(tiny_market), TRAIN_BARS, TEST_BARS, TINY_TRAIN.horizon)
    return SweepSettings(
        plans, TINY_TRAIN, FeatureSpec().n_features, {"device": "cpu"}, BrokerConfig(), 252.0,
        threads=1,
    )


@pytest.fixture(scope="module")
def ray_sweep(ray_local, tiny_market, sweep_settings):
    from bt_attention_lstm.runners.research.sweep.ray_tune import run_tune

    space = validate_space(TINY_SPACE)
    configs = sample_configs(space, 2, seed=1)
    records = run_tune(tiny_market, configs, space, sweep_settings, 2, seed=1, progress=False)
    return configs, records


def test_ray_sweep_runs_every_trial_with_its_sampled_config(ray_sweep):
    configs, records = ray_sweep
    assert len(records) == 2
    assert sorted(json.dumps(r.params, sort_keys=True) for r in records) == sorted(
        json.dumps(c, sort_keys=True) for c in configs
    )
    for r in records:
        assert r.status in ("completed", "stopped early (ASHA)"), r.status
        assert r.score is not None and r.score.folds_completed >= 1
    assert any(r.status == "completed" for r in records)


def test_trials_are_scored_on_out_of_sample_bars_only(ray_sweep, tiny_market, sweep_settings):
    _, records = ray_sweep
    done = next(r for r in records if r.status == "completed")
    test_bars = np.concatenate(
        [np.arange(p.test_start, p.test_end) for p in sweep_settings.plans]
    )
    assert done.score.returns.index.equals(tiny_market.index[test_bars])
    # and the score is what the same trial gives without Ray (the local engine's trial)
    local = run_trial(TrialJob("local", done.params, tiny_market, sweep_settings))
    assert local.status == "completed"
    # (Ray's copy came back as plain lists: nanosecond times, whatever unit the data had)
    pd.testing.assert_series_equal(
        local.score.returns, done.score.returns, check_names=False, check_index_type=False,
        check_freq=False,
    )
    assert local.score.oos_sharpe == pytest.approx(done.score.oos_sharpe, rel=1e-12)


def test_best_json_holds_the_deflated_sharpe_ratio(ray_sweep, sweep_settings, tmp_path):
    _, records = ray_sweep
    best = best_summary(records, len(sweep_settings.plans), {"engine": "ray"})
    chosen = next(r for r in records if r.trial_id == best["best_trial"])
    assert chosen.status == "completed"
    assert best["n_trials"] == 2 and len(best["trial_sharpes_per_period"]) == 2
    assert best["psr"] == pytest.approx(probabilistic_sharpe_ratio(chosen.score.returns))
    dsr = best["deflated_sharpe_ratio"]
    assert dsr == pytest.approx(
        deflated_sharpe_ratio(chosen.score.returns, best["trial_sharpes_per_period"])
    )
    assert 0.0 <= dsr <= best["psr"]  # selection among trials can only deflate it
    assert best["oos_sharpe"] == pytest.approx(best["oos_sharpe_per_period"] * np.sqrt(252.0))
    assert best["note"] == DSR_NOTE and "deflated Sharpe ratio" in DSR_NOTE

    out = write_sweep_report(tmp_path / "sweep", trials_table(records), best)
    trials = pd.read_csv(out / "trials.csv")
    assert list(trials.columns) == list(TRIAL_COLUMNS) and len(trials) == 2
    written = json.loads((out / "best.json").read_text())
    assert written["deflated_sharpe_ratio"] == pytest.approx(dsr)
    assert written["config"] == chosen.params


# -- bad input ---------------------------------------------------------------------------------


def run_sweep_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "runners/sweep.py", *args],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_bad_space_json_is_one_line_and_exit_2(tmp_path):
    space = tmp_path / "space.json"
    space.write_text('{"hidden": [8,, 16]}')
    out = tmp_path / "never"
    proc = run_sweep_cli("--space", str(space), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: --space {space}: not valid JSON (Expecting value at line 1)"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--space", "SPACE"], "unknown parameter(s) hiden"),
        (["--space", "MISSING"], "cannot read it"),
        (["--trials", "0"], "`trials` must be >= 1"),
        (["--train-bars", "800", "--test-bars", "180"], "needs at least 985 bars"),
        (["--train-bars", "120", "--test-bars", "180"], "with seq_len up to 10"),
    ],
)
def test_main_refuses_bad_input_before_any_trial(market_csv, tmp_path, monkeypatch, flags, message):
    from bt_attention_lstm.runners import sweep

    space = tmp_path / "space.json"
    space.write_text(json.dumps({"hiden": [8]}))
    flags = [
        {"SPACE": str(space), "MISSING": str(tmp_path / "nope.json")}.get(f, f) for f in flags
    ]
    if "--space" not in flags:
        tiny = tmp_path / "tiny.json"
        tiny.write_text(json.dumps(TINY_SPACE))
        flags += ["--space", str(tiny)]
    out = tmp_path / "never"
    argv = ["sweep.py", "--data", str(market_csv), *flags, "--quiet", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(UserInputError, match=re.escape(message)):
        sweep.main()
    assert not out.exists()


def test_every_training_flag_the_sweep_offers_reaches_its_train_config():
    """The sweep's TrainConfig comes from the same reader as train.py's: flags it offers are
    not silently dropped (lr is searched per trial, so it stays at its default here)."""
    from bt_attention_lstm.models.config import TrainConfig
    from bt_attention_lstm.runners.cli.training_args import train_config_from_args
    from bt_attention_lstm.runners.sweep import build_parser

    args = build_parser().parse_args([
        "--data", "x.csv", "--ensemble", "2", "--inner-fraction", "0.3", "--calibration", "none",
        "--epochs", "7", "--horizon", "4", "--flat-band", "0.4", "--seed", "11",
    ])
    config = train_config_from_args(args)
    assert (config.ensemble, config.inner_fraction, config.calibration) == (2, 0.3, "none")
    assert (config.epochs, config.horizon, config.flat_band, config.seed) == (7, 4, 0.4, 11)
    assert config.lr == TrainConfig(objective="classify").lr


# -- the library call ----------------------------------------------------------------------------


def test_run_sweep_scores_its_trial_out_of_sample_and_writes_best_json(
    market_csv, tiny_market, tmp_path
):
    from bt_attention_lstm.runners.research.sweep import SweepConfig, run_sweep
    from bt_attention_lstm.runners.research.walkforward.fold import annualised_sharpe

    config = SweepConfig(
        data=str(market_csv), space=TINY_SPACE, trials=1, seed=1, train_bars=TRAIN_BARS,
        test_bars=TEST_BARS, training=TINY_TRAIN, strategy_params={"device": "cpu"}, workers=1,
        out=tmp_path / "sweep",
    )
    result = run_sweep(config)
    assert result.out == config.out and result.engine == "local"
    assert result.scheduler == "none (every trial to the end)"
    (record,) = result.records
    assert record.status == "completed"
    assert record.params == sample_configs(validate_space(TINY_SPACE), 1, seed=1)[0]
    plans = plan_folds(len(tiny_market), TRAIN_BARS, TEST_BARS, TINY_TRAIN.horizon)
    test_bars = np.concatenate([np.arange(p.test_start, p.test_end) for p in plans])
    assert record.score.returns.index.equals(tiny_market.index[test_bars])
    assert result.best["oos_sharpe"] == pytest.approx(
        annualised_sharpe(record.score.returns, 252.0)
    )
    assert result.best["n_trials"] == 1 and result.best["seed"] == 1
    assert json.loads((result.out / "best.json").read_text())["config"] == record.params
    assert list(pd.read_csv(result.out / "trials.csv")["trial_id"]) == [record.trial_id]


def test_plan_sweep_refuses_a_window_too_short_for_the_space(market_csv, tmp_path):
    from bt_attention_lstm.runners.research.sweep import SweepConfig, plan_sweep

    out = tmp_path / "never"
    config = SweepConfig(data=str(market_csv), space=TINY_SPACE, train_bars=120,
                         test_bars=TEST_BARS, training=TINY_TRAIN, out=out)
    with pytest.raises(ConfigError, match=re.escape("`train_bars`=120 is too few")):
        plan_sweep(config)
    assert not out.exists()
