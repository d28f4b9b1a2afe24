"""The plugin installs as one namespace, ``bt_attention_lstm``, and works next to a user's own
``strategies.py``, ``indicators.py``, ``models/`` package and ``reports/output/`` folder, in a wheel
install and in the editable install alike."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from bt_attention_lstm.models.datasets import list_samples
from tests.conftest import REPO_ROOT, subprocess_env

USER_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import datetime

    import backtrader as bt

    import indicators  # the user's own modules, shadowing nothing of ours
    import models
    import strategies
    from bt_attention_lstm.strategies import AttentionLSTMStrategy
    import bt_attention_lstm.strategies as plugin_strategies
    from bt_attention_lstm.models.datasets import sample_path

    assert strategies.MINE == "user strategies" and indicators.MINE == "user indicators"
    assert models.MINE == "user models"
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(
        dataname=sample_path("orcl-1995-2014.txt"), fromdate=datetime(2002, 1, 1),
        todate=datetime(2003, 12, 31)))
    cerebro.broker.setcash(100_000)
    cerebro.addstrategy(AttentionLSTMStrategy, model_path=sys.argv[1], threshold=0.0)
    strategy = cerebro.run()[0]
    print("plugin at", plugin_strategies.__file__)
    print("data at", sample_path("orcl-1995-2014.txt"))
    print("trades", len(strategy.trades), "value", round(cerebro.broker.getvalue(), 2))
    """
)


def make_user_project(root: Path) -> Path:
    """A backtrader user's project with the names most such projects already use."""
    root.mkdir()
    (root / "strategies.py").write_text('MINE = "user strategies"\n')
    (root / "indicators.py").write_text('MINE = "user indicators"\n')
    (root / "models").mkdir()
    (root / "models" / "__init__.py").write_text('MINE = "user models"\n')
    (root / "reports" / "output" / "20240101-000000").mkdir(parents=True)
    (root / "run_cerebro.py").write_text(USER_SCRIPT)
    return root


def run_user_backtest(python: str, project: Path, artifact: Path) -> str:
    done = subprocess.run(
        [python, "run_cerebro.py", str(artifact)],
        cwd=project, env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def tracked_copy(dst: Path) -> Path:
    """The files git tracks (or would track), copied: a build there sees no stale build/ tree."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = REPO_ROOT / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    return dst


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = tracked_copy(tmp_path_factory.mktemp("source"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=600, env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("bt_attention_lstm-*.whl")
    return path


def test_the_wheel_holds_only_the_bt_attention_lstm_namespace(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        tops = {name.split("/", 1)[0] for name in names}
        (dist_info,) = [t for t in tops if t.endswith(".dist-info")]
        top_level = zf.read(f"{dist_info}/top_level.txt").decode().split() if (
            f"{dist_info}/top_level.txt" in names) else []
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert tops == {"bt_attention_lstm", dist_info}
    assert top_level in ([], ["bt_attention_lstm"])
    for package in ("models", "indicators", "strategies", "reports", "runners"):
        assert f"bt_attention_lstm/{package}/__init__.py" in names
    assert "bt_attention_lstm/__init__.py" not in names  # a PEP 420 namespace
    assert "bt-lstm = bt_attention_lstm.runners.cli.main:main" in entry_points


def test_the_wheel_ships_the_sample_data_and_its_sources(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    shipped = {f"bt_attention_lstm/models/datasets/{n}" for n in [*list_samples(), "README.md"]}
    assert shipped <= names
    assert not any(n.startswith("tests/") or "/tests/" in n for n in names)


def test_a_wheel_install_runs_next_to_the_users_own_packages(wheel, tmp_path, tiny_artifact):
    # A new environment holding only the wheel; the heavy dependencies come from this venv's
    # site-packages through a .pth line (which does not run this venv's editable-install hook).
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = str(env_dir / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--target", site, str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # what a wheel install puts on the import path: one package (pip --target adds bin/ for
    # the console script, which a venv install puts in the venv's bin/)
    importable = sorted(
        p.name for p in Path(site).iterdir()
        if not p.name.endswith((".pth", ".dist-info")) and p.name != "bin"
    )
    assert importable == ["bt_attention_lstm"]
    assert (Path(site) / "bin" / "bt-lstm").is_file()

    project = make_user_project(tmp_path / "user-project")
    out = run_user_backtest(python, project, tiny_artifact)
    assert f"plugin at {site}/bt_attention_lstm/strategies/__init__.py" in out
    assert f"data at {site}/bt_attention_lstm/models/datasets/orcl-1995-2014.txt" in out
    assert "trades" in out


def test_the_editable_install_runs_next_to_the_users_own_packages(tmp_path, tiny_artifact):
    project = make_user_project(tmp_path / "user-project")
    out = run_user_backtest(sys.executable, project, tiny_artifact)
    assert f"plugin at {REPO_ROOT / 'strategies' / '__init__.py'}" in out
    assert f"data at {REPO_ROOT / 'models' / 'datasets' / 'orcl-1995-2014.txt'}" in out


def test_the_console_script_lists_and_runs_the_runners():
    script = Path(sys.executable).with_name("bt-lstm")
    listing = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0
    for command in ("train", "backtest", "audit", "walkforward", "sweep", "benchmark"):
        assert f"  {command} " in listing.stdout
    helped = subprocess.run([str(script), "backtest", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert helped.returncode == 0 and "--model DIR" in helped.stdout
    unknown = subprocess.run([str(script), "bogus"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
