"""A new user's first hour with the commands (issue 22): ``bt-lstm <cmd>`` in every usage line,
``bt-lstm --version``, help texts that fit their command, ISO dates only, a documented run
directory announced before any work, a first run that explains itself, and a paper command
whose documented invocation warns about nothing."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from bt_attention_lstm.models.errors import ConfigError
from tests.conftest import ORCL_PATH, REPO_ROOT, subprocess_env

# The helpers below are imported inside the tests that use them, so that each test of this file
# runs (and fails for its own reason) against code that lacks them.

RUNNERS = sorted(p.stem for p in (REPO_ROOT / "runners").glob("*.py") if p.stem != "__init__")
WRITERS = ("backtest", "train", "walkforward", "sweep", "paper")
CONSOLE = Path(sys.executable).with_name("bt-lstm")


def parser_of(command: str) -> argparse.ArgumentParser:
    return importlib.import_module(f"bt_attention_lstm.runners.{command}").build_parser()


def help_of(command: str, flag: str) -> str:
    for action in parser_of(command)._actions:
        if flag in action.option_strings:
            return action.help or ""
    raise AssertionError(f"{command} has no {flag}")


# -- bt-lstm <cmd> in usage, --version ---------------------------------------------------------


@pytest.mark.parametrize("command", RUNNERS)
def test_every_usage_line_names_the_console_command(command):
    parser = parser_of(command)
    assert parser.format_usage().startswith(f"usage: bt-lstm {command} ")
    done = subprocess.run([str(CONSOLE), command, "--help"], capture_output=True, text=True,
                          timeout=60, env=subprocess_env())
    assert done.returncode == 0 and done.stdout.startswith(f"usage: bt-lstm {command} ")


def test_the_script_and_the_console_command_show_the_same_usage():
    """The rule: whichever way a runner is started, its usage and errors say bt-lstm CMD."""
    via_script = subprocess.run([sys.executable, "runners/backtest.py", "--help"],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                                env=subprocess_env())
    via_console = subprocess.run([str(CONSOLE), "backtest", "--help"], capture_output=True,
                                 text=True, timeout=60, env=subprocess_env())
    assert via_script.stdout.startswith("usage: bt-lstm backtest ")
    assert via_script.stdout == via_console.stdout
    wrong = subprocess.run([sys.executable, "runners/backtest.py", "--no-such-flag"],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                           env=subprocess_env())
    assert wrong.returncode == 2 and wrong.stderr.startswith("bt-lstm backtest: error: ")


def test_version_prints_the_installed_version():
    done = subprocess.run([str(CONSOLE), "--version"], capture_output=True, text=True,
                          timeout=60, env=subprocess_env())
    assert done.returncode == 0
    assert done.stdout == f"bt-lstm {importlib.metadata.version('bt-attention-lstm')}\n"
    assert "--version" in subprocess.run([str(CONSOLE), "--help"], capture_output=True,
                                         text=True, timeout=60).stdout


# -- help texts that fit their command ---------------------------------------------------------


@pytest.mark.parametrize("command", ["backtest", "paper", "audit", "evaluate"])
def test_cash_help_speaks_of_walk_forward_folds_only_where_there_are_some(command):
    text = help_of(command, "--cash").lower()
    assert "walk-forward" not in text and "fold" not in text, text
    assert "fold" in help_of("walkforward", "--cash") and "fold" in help_of("sweep", "--cash")


def test_help_texts_fit_their_command():
    train_mismatch = help_of("train", "--allow-timeframe-mismatch")
    assert "train" in train_mismatch and "meta.json" not in train_mismatch
    trade_mismatch = help_of("backtest", "--allow-timeframe-mismatch")
    assert "meta.json" in trade_mismatch and "train on files" not in trade_mismatch
    assert "trade" in help_of("backtest", "--start") and "train" in help_of("train", "--start")
    assert "backfill" in help_of("paper", "--start")
    assert "training" in help_of("backtest", "--device")  # the default model is trained there
    assert "inference" in help_of("evaluate", "--device")  # it trades its models too
    assert "train" in help_of("walkforward", "--target-vol")  # it serves the training too
    assert "train" not in help_of("backtest", "--target-vol")
    assert "walk-forward" in help_of("walkforward", "--folds")
    assert "walk-forward" not in help_of("train", "--folds")


@pytest.mark.parametrize("command", RUNNERS)
def test_no_help_names_a_folder_in_the_working_directory_or_a_script(command):
    for action in parser_of(command)._actions:
        text = action.help or ""
        assert "reports/output" not in text and "models/output" not in text, (command, text)
    if command in WRITERS:
        assert "bt-attention-lstm/runs" in help_of(command, "--out")
        assert f"{command}-YYYYmmdd-HHMMSS" in help_of(command, "--out")


# -- ISO dates only ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["03/02/2010", "2010/03/02", "20100302", "2 March 2010", "2010-3-2", "2010-13-01",
              "2010-02-30", "yesterday", "2010-03-02 9:30"],
)
def test_a_date_that_is_not_iso_is_refused(value):
    from bt_attention_lstm.runners.cli.common import check_date_range, parse_iso_date

    with pytest.raises(ConfigError, match=r"^--start .* is not a date in ISO form \(YYYY-MM-DD"):
        parse_iso_date(value, "--start")
    with pytest.raises(ConfigError, match="ISO"):
        check_date_range(argparse.Namespace(start=value, end=None))


@pytest.mark.parametrize("value", ["2010-03-02", "2010-03-02 09:30", "2010-03-02T09:30:15"])
def test_iso_dates_with_or_without_a_time_are_accepted(value):
    from bt_attention_lstm.runners.cli.common import parse_iso_date

    assert pd.Timestamp(parse_iso_date(value)) == pd.Timestamp(value)


@pytest.mark.parametrize("command", ["backtest", "train", "paper"])
def test_a_us_date_on_the_command_line_is_one_line_and_exit_2(command, tmp_path):
    extra = ["--model", str(tmp_path)] if command == "paper" else []
    done = subprocess.run(
        [sys.executable, f"runners/{command}.py", "--start", "03/02/2010", *extra,
         "--out", str(tmp_path / "out")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=subprocess_env(),
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert done.stderr.startswith(f"bt-lstm {command}: error: argument --start: '03/02/2010' "
                                  "is not a date in ISO form (YYYY-MM-DD")
    assert not (tmp_path / "out").exists()


# -- the run directory -------------------------------------------------------------------------


def test_runs_root_follows_xdg_data_home(monkeypatch, tmp_path):
    from bt_attention_lstm.reports.run_dir import runs_root

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert runs_root() == tmp_path / "data" / "bt-attention-lstm" / "runs"
    for unusable in ("", "relative/path"):  # the XDG specification: ignore them
        monkeypatch.setenv("XDG_DATA_HOME", unusable)
        assert runs_root() == Path.home() / ".local/share/bt-attention-lstm/runs"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert runs_root() == Path.home() / ".local/share/bt-attention-lstm/runs"


def test_a_run_directory_is_named_by_command_and_time_and_never_reused(monkeypatch, tmp_path):
    from bt_attention_lstm.runners.cli.outputs import default_run_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    now = datetime(2024, 1, 31, 14, 25, 1)
    first = default_run_dir("backtest", now)
    assert first == tmp_path / "bt-attention-lstm/runs/backtest-20240131-142501"
    assert not first.exists()
    first.mkdir(parents=True)
    assert default_run_dir("backtest", now) == first.with_name("backtest-20240131-142501-1")


@pytest.fixture(scope="module")
def writing_runs(tmp_path_factory, tiny_artifact, tiny_market) -> dict[str, tuple]:
    """Every command that writes, started from an empty working directory with no --out:
    name -> (completed process, working directory, runs root)."""
    root = tmp_path_factory.mktemp("first_hour")
    market = root / "market.csv"
    tiny_market.to_csv(market, index_label="datetime")
    space = root / "space.json"
    space.write_text(json.dumps({"hidden": [8], "layers": 1, "heads": [1], "seq_len": [10],
                                 "dropout": 0.0, "lr": 0.002}))
    tiny_training = ["--epochs", "1", "--folds", "2", "--patience", "1", "--batch-size", "128",
                     "--seed", "5", "--objective", "classify", "--calibration", "none"]
    tiny_net = ["--hidden", "8", "--layers", "1", "--heads", "1", "--seq-len", "10"]
    model = ["--model", str(tiny_artifact)]
    commands = {
        "backtest": ["--data", str(ORCL_PATH), *model, "--start", "2002-01-01", "--end",
                     "2003-12-31", "--no-html", "--threshold", "0.05"],
        "train": ["--data", str(ORCL_PATH), "--end", "1999-12-31", *tiny_net, *tiny_training,
                  "-q"],
        "paper": ["--data", str(ORCL_PATH), *model, "--start", "2012-01-01", "--no-html"],
        "walkforward": ["--data", str(market), "--train-bars", "500", "--test-bars", "180",
                        "--workers", "1", "--no-html", "--threshold", "0.05", *tiny_net,
                        *tiny_training, "-q"],
        "sweep": ["--data", str(market), "--space", str(space), "--trials", "1", "--train-bars",
                  "500", "--test-bars", "180", "--engine", "local", "--workers", "1",
                  *tiny_training, "-q"],
        "audit": ["--data", str(ORCL_PATH), *model, "--start", "2002-01-01", "--end",
                  "2003-12-31", "--surrogates", "0", "--device", "cpu", "--json", "audit.json"],
    }
    data_home = root / "data"
    env = subprocess_env(XDG_DATA_HOME=str(data_home), XDG_CACHE_HOME=str(root / "cache"))
    procs = {}
    for name, args in commands.items():
        cwd = root / f"cwd-{name}"
        cwd.mkdir()
        procs[name] = (subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "runners" / f"{name}.py"), *args], cwd=cwd,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ), cwd)
    runs = {}
    for name, (proc, cwd) in procs.items():
        out, err = proc.communicate(timeout=600)
        runs[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, out, err), cwd,
                      data_home / "bt-attention-lstm" / "runs")
    return runs


@pytest.mark.parametrize("command", WRITERS)
def test_a_run_writes_into_a_new_run_directory_it_announced_first(writing_runs, command):
    done, cwd, runs = writing_runs[command]
    assert done.returncode == 0, done.stderr[-3000:]
    first = done.stdout.splitlines()[0]
    match = re.fullmatch(rf"writing to ({re.escape(str(runs))}/{command}-\d{{8}}-\d{{6}}\S*)"
                         r"(; .*)?", first)
    assert match, first
    out = Path(match.group(1))
    assert out.is_dir() and any(out.iterdir())
    assert list(cwd.iterdir()) == [], "the run wrote into the working directory"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "scratch left"


def test_a_json_file_in_the_working_directory_is_announced_first(writing_runs):
    done, cwd, _ = writing_runs["audit"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0] == (
        f"writing to {cwd / 'audit.json'} (--json, when the run is done)"
    )
    assert [p.name for p in cwd.iterdir()] == ["audit.json"]


class _WorkStarted(Exception):
    """Raised by the stand-in for a command's work: what was printed before it is the point."""


@pytest.mark.parametrize(
    ("command", "workflow", "function", "argv"),
    [
        ("evaluate", "bt_attention_lstm.runners.research.evaluation.job", "run_evaluation",
         ["--data", "synthetic:default"]),
        ("audit", "bt_attention_lstm.runners.research.audit.job", "run_audit", ["--model", "M"]),
        ("benchmark", "tests.perf.benchmark", "run_benchmark", []),
    ],
)
def test_json_files_are_announced_before_the_work(
    command, workflow, function, argv, monkeypatch, tmp_path, capsys
):
    module = importlib.import_module(workflow)
    printed_before: list[str] = []

    def work(*args: object, **kwargs: object) -> None:
        printed_before.append(capsys.readouterr().out)
        raise _WorkStarted

    monkeypatch.setattr(module, function, work)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [command, *argv, "--json", "out.json"])
    runner = importlib.import_module(f"bt_attention_lstm.runners.{command}")
    with pytest.raises(_WorkStarted):
        runner.main()
    target = tmp_path / "out.json"
    assert printed_before == [f"writing to {target} (--json, when the run is done)\n"]


# -- a first run that explains itself ----------------------------------------------------------


def test_the_backtest_says_what_it_will_do_then_shows_one_bar_and_a_summary(
    writing_runs, tiny_artifact
):
    done, _, _ = writing_runs["backtest"]
    lines = done.stdout.splitlines()
    assert lines[1].startswith(f"plan: backtest the model at {tiny_artifact} on orcl-1995-2014")
    assert "daily bars, from 2002-01-02 on" in lines[1]
    assert re.search(r"backtest: 100%\|.*\| (\d+)/\1 ", done.stderr), done.stderr[-2000:]
    tail = "\n".join(lines[-4:])
    assert re.search(r"^summary: \d+ trades, Sharpe -?\d", tail, re.M), tail
    assert "buy & hold" in tail and ("best simple rule" in tail or "also the best" in tail)
    assert "files: " in tail and "(metrics.json, returns.csv, trades.csv, chart.png)" in tail
    assert "xdg-open " in tail and "file://" in tail


def test_quiet_keeps_the_announcement_and_the_results_only(writing_runs):
    done, _, _ = writing_runs["train"]  # run with -q
    assert done.stdout.startswith("writing to ")
    assert "plan:" not in done.stdout and "%|" not in done.stderr
    assert "artifact: " in done.stdout and "bt-lstm backtest --model " in done.stdout


def test_one_training_bar_counts_the_folds_and_keeps_info_records(orcl_df, tmp_path, caplog):
    import logging

    from bt_attention_lstm.models.training.pipeline import train_and_save
    from bt_attention_lstm.models.training.progress import training_bar
    from tests.conftest import TINY_MODEL, TINY_TRAIN

    frame = orcl_df.loc["1995-01-01":"1999-12-31"].copy()
    caplog.set_level(logging.WARNING)
    with training_bar(TINY_TRAIN, enabled=True) as bar:
        train_and_save([frame], TINY_MODEL, TINY_TRAIN, tmp_path / "a", progress=False)
        assert bar.n == TINY_TRAIN.folds  # one per outer fold, counted from their records
    assert bar.n == bar.total == TINY_TRAIN.folds + 1
    assert not [r for r in caplog.records if r.levelno < logging.WARNING]
    training_logger = logging.getLogger("bt_attention_lstm.models.training.classifier")
    assert training_logger.propagate and training_logger.level == logging.NOTSET
    caplog.set_level(logging.INFO)  # -v: the fold records still reach the user's handlers
    with training_bar(TINY_TRAIN, enabled=False):
        train_and_save([frame], TINY_MODEL, TINY_TRAIN, tmp_path / "b", progress=False)
    folds = [r for r in caplog.records if r.getMessage().startswith("fold ")]
    assert len(folds) == TINY_TRAIN.folds


def test_the_plan_line_says_data_model_and_duration_before_training():
    from bt_attention_lstm.models.data.synthetic import synthetic_market
    from bt_attention_lstm.runners.cli.backtest_text import plan_line
    from bt_attention_lstm.runners.research.backtest import BacktestConfig, BacktestPlan
    from bt_attention_lstm.runners.research.default_model import DefaultModelPlan

    df = synthetic_market()
    plan = DefaultModelPlan(Path("/cache/abc"), False, 2400, df.index[2400], 3, 45.0)
    line = plan_line(BacktestPlan(BacktestConfig(), df, None, plan, df.index[2400], 0.6, Path()))
    assert line == (
        "plan: no --model given: train a small model on the first 60% of the built-in "
        "synthetic market (2400 of 4000 daily bars; about 50 s, then cached at /cache/abc), "
        f"then backtest it on the last 1600 bars, from {df.index[2400].date()} on, out of "
        "sample (a few seconds)"
    )
    cached = DefaultModelPlan(Path("/cache/abc"), True, 2400, df.index[2400], 3, 0.0)
    line = plan_line(
        BacktestPlan(BacktestConfig(), df, None, cached, df.index[2400], 0.6, Path())
    )
    assert line.startswith("plan: backtest the default model (cached at /cache/abc, trained on")


def test_the_summary_puts_the_sharpe_beside_buy_and_hold_and_the_best_rule(tmp_path):
    from bt_attention_lstm.runners.cli.summary_text import final_summary, open_hint

    for name in ("tearsheet.html", "metrics.json", "chart.png"):
        (tmp_path / name).write_text("x")
    scores = {"attention_lstm": {"sharpe": 0.39}, "buy_and_hold": {"sharpe": 0.98},
              "macd": {"sharpe": 1.1}}
    metrics = {
        "strategy": {"n_trades": 22, "sharpe": 0.33}, "benchmark": {"sharpe": 1.25},
        "in_sample": False,
        "rules": {"model_name": "attention_lstm", "best_rule": "macd", "cost_bps": 10.0,
                  "portfolio": {"scores": scores}},
    }
    lines = final_summary(metrics, tmp_path)
    assert lines[1] == ("summary: 22 trades, Sharpe 0.33 as traded (buy & hold 1.25 on the "
                        "same bars), out of sample")
    assert lines[2] == ("Sharpe beside the simple rules: model 0.39, buy & hold 0.98, best "
                        "simple rule macd 1.10   (vol-targeted, after 10 bps)")
    assert lines[3] == f"files: {tmp_path}  (tearsheet.html, metrics.json, chart.png)"
    sheet = tmp_path / "tearsheet.html"
    assert lines[4] == f"open the tear sheet: xdg-open {sheet}   (or {sheet.as_uri()} in a browser)"
    assert open_hint(sheet, "darwin").startswith(f"open {sheet}")


def test_the_paper_margin_is_the_feed_gates():
    from bt_attention_lstm.runners import paper
    from bt_attention_lstm.strategies.live.gate import WARMUP_MARGIN

    assert paper.WARMUP_MARGIN == WARMUP_MARGIN
    assert str(WARMUP_MARGIN) in help_of("paper", "--backfill")

