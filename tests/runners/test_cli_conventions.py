"""Every runner spells its flags the same way, answers --help without loading the heavy
libraries, and refuses bad flags (dates the wrong way round, an impossible --out) with one line
and exit code 2 before doing any work."""

from __future__ import annotations

import argparse
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, subprocess_env

RUNNERS = sorted(p.stem for p in (REPO_ROOT / "runners").glob("*.py") if p.stem != "__init__")
DATA_RUNNERS = [r for r in ("train", "backtest", "audit", "walkforward", "sweep") if r in RUNNERS]
OUT_DIR_RUNNERS = [r for r in ("train", "backtest", "walkforward", "sweep") if r in RUNNERS]
HEAVY = ("torch", "backtrader", "quantstats", "talib", "sklearn", "ray")

PROBE = """
import runpy, sys
sys.argv = [sys.argv[1], "--help"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code
print("EXIT", code)
print("HEAVY", sorted(m for m in {heavy} if m in sys.modules))
"""


REQUIRED = {"walkforward": ["--train-bars", "1500", "--test-bars", "500"]}


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, f"runners/{script}.py", *args, *REQUIRED.get(script, [])],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_expected_runners_exist():
    assert {"train", "backtest", "audit", "walkforward", "sweep", "benchmark"} <= set(RUNNERS)


@pytest.mark.parametrize("script", RUNNERS)
def test_help_loads_no_heavy_library_and_lists_the_shared_flags(script):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE.format(heavy=HEAVY),
            str(REPO_ROOT / "runners" / f"{script}.py"),
        ],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "EXIT 0" in done.stdout, done.stderr[-2000:]
    assert "HEAVY []" in done.stdout  # --help answers before torch, backtrader, ... load
    helped = run(script, "--help").stdout
    for flag in ("--device {auto,cpu,cuda}", "--verbose", "--quiet"):
        assert flag in helped, f"{script} lacks {flag}"
    assert "(default: auto)" in helped
    parser = importlib.import_module(f"bt_attention_lstm.runners.{script}").build_parser()
    for action in parser._actions:  # a help text says what a flag does, not only its default
        if action.help == argparse.SUPPRESS or not action.option_strings:
            continue
        assert action.help, f"{script} {action.option_strings} has no help"
        assert not action.help.lower().startswith("default"), f"{script}: {action.help}"


@pytest.mark.parametrize("script", DATA_RUNNERS)
def test_start_after_end_is_one_clear_line(script, tmp_path):
    extra = ["--model", str(tmp_path)] if script == "audit" else []
    done = run(script, "--start", "2014-01-01", "--end", "2010-01-01", *extra)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --start 2014-01-01 is after --end 2010-01-01"


@pytest.mark.parametrize("script", OUT_DIR_RUNNERS)
def test_an_impossible_out_exits_2_before_any_work(script, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    done = run(script, "--out", str(blocker / "sub"))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: --out {blocker / 'sub'}: {blocker} is a file, not a directory"
    )
    assert blocker.read_text() == "not a folder"


def test_train_refuses_a_non_empty_out_without_force(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("x")
    done = run("train", "--out", str(tmp_path / "model"), "--epochs", "0")
    assert done.returncode == 2
    assert "already exists and is not empty" in done.stderr and "--force" in done.stderr
    assert (tmp_path / "model" / "old.txt").is_file()


def _strategy_args(argv: list[str]) -> argparse.Namespace:
    from bt_attention_lstm.runners.cli.trading_args import add_strategy_args

    parser = argparse.ArgumentParser()
    add_strategy_args(parser)
    parser.add_argument("--device", default="auto")
    return parser.parse_args(argv)


def test_zero_disables_every_stop_distance_and_errors_name_the_flag():
    from bt_attention_lstm.models.errors import ConfigError
    from bt_attention_lstm.runners.cli.trading_args import strategy_params

    params = strategy_params(
        _strategy_args(
            ["--stop-loss", "0", "--trail", "0", "--take-profit", "0", "--atr-stop", "0"]
        ),
        252.0,
    )
    assert params["stop_loss"] is params["trail_percent"] is params["take_profit"] is None
    assert params["atr_stop"] is None
    with pytest.raises(ConfigError, match="^--trail must be >= 0"):
        strategy_params(_strategy_args(["--trail", "-0.1"]), 252.0)
    with pytest.raises(ConfigError, match="^--take-profit is a fraction"):
        strategy_params(_strategy_args(["--take-profit", "1.5"]), 252.0)


def test_the_command_line_defaults_are_the_strategys_own():
    from bt_attention_lstm.runners.cli.trading_args import SIZING_CHOICES, strategy_params
    from bt_attention_lstm.strategies import AttentionLSTMStrategy
    from bt_attention_lstm.strategies.sizing import SIZING_RULES

    assert SIZING_CHOICES == SIZING_RULES
    defaults = strategy_params(_strategy_args([]), 252.0)
    own = dict(AttentionLSTMStrategy.params._getitems())
    for name, value in defaults.items():
        if name in ("device", "periods_per_year", "regime_filter", "relative_confidence"):
            continue
        assert own[name] == value, name
    assert own["regime_filter"] is defaults["regime_filter"]
    assert own["relative_confidence"] is defaults["relative_confidence"]


def test_audit_knows_every_surrogate_method():
    from bt_attention_lstm.runners import audit
    from bt_attention_lstm.runners.research.audit import surrogates

    assert audit.SURROGATE_METHODS == surrogates.SURROGATE_METHODS
    assert "--surrogate-seed" in inspect.getsource(audit.build_parser)


def test_daily_dates_are_shown_as_dates():
    import pandas as pd

    from bt_attention_lstm.models.data.timefmt import bar_span, bar_time

    assert bar_time(pd.Timestamp("2014-03-17")) == "2014-03-17"
    assert bar_time("2006-01-02 09:35") == "2006-01-02 09:35:00"
    assert bar_span(pd.DatetimeIndex(["2010-01-04", "2010-02-01"])) == "2010-01-04 .. 2010-02-01"
    assert bar_span(pd.DatetimeIndex([])) == "no bars"


def test_console_script_dispatches_to_the_same_runner():
    script = Path(sys.executable).with_name("bt-lstm")
    done = subprocess.run(
        [str(script), "train", "--start", "2014-01-01", "--end", "2010-01-01"],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --start 2014-01-01 is after --end 2010-01-01"


@pytest.mark.parametrize("script", [*DATA_RUNNERS, "paper"])
def test_the_bar_size_override_is_offered_only_where_a_mismatch_can_arise(script):
    """Runners that trade a given model (or train on several files) check the data's bar size
    against it (tests/runners/test_bar_size_cli.py); walk-forward and sweep train each model on
    the very bars they trade, so the flag would do nothing there."""
    parser = importlib.import_module(f"bt_attention_lstm.runners.{script}").build_parser()
    flags = {flag for action in parser._actions for flag in action.option_strings}
    offered = "--allow-timeframe-mismatch" in flags
    assert offered is (script not in ("walkforward", "sweep")), script


def test_library_messages_name_parameters_and_the_cli_prints_its_flags():
    from bt_attention_lstm.runners.backtest import build_parser
    from bt_attention_lstm.runners.cli.errors import parser_flags, translate

    flags = parser_flags(build_parser())
    assert flags["allow_timeframe_mismatch"] == "--allow-timeframe-mismatch"
    assert flags["train_fraction"] == "--train-fraction" and flags["trail_percent"] == "--trail"
    assert "help" not in flags
    message = "use a larger `train_fraction`, `trail_percent` or fewer `folds`; `start` 2010"
    # backtest has no --folds: that name stays the library's
    assert translate(message, flags) == (
        "use a larger --train-fraction, --trail or fewer `folds`; --start 2010"
    )


def test_a_library_error_reaches_the_terminal_in_flag_words(tmp_path):
    """run_main translates with the parser that parsed the command line: the library raises
    "`train_fraction` must be within ...", the command prints --train-fraction."""
    done = run("backtest", "--train-fraction", "0.95", "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --train-fraction must be within [0.1, 0.9], got 0.95"
    assert not (tmp_path / "r").exists()


def test_the_data_checks_speak_the_librarys_language():
    from bt_attention_lstm.models.errors import ConfigError
    from bt_attention_lstm.runners.research.inputs import check_date_range, prepare_out_dir

    with pytest.raises(ConfigError, match=r"^`start` 2014-01-01 is after `end` 2010-01-01$"):
        check_date_range("2014-01-01", "2010-01-01")
    with pytest.raises(ConfigError, match=r"^`end` '01/02/2010' is not a date in ISO form"):
        check_date_range(None, "01/02/2010")
    with pytest.raises(ConfigError, match=r"^`out` .* is a file, not a directory$"):
        prepare_out_dir(Path(__file__))
