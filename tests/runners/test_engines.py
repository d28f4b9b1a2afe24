"""Engines: the local process pool and Ray give identical walk-forward folds for the same seed,
keep job order, pass a worker's typed error on as itself, and refuse bad Ray addresses fast."""

from __future__ import annotations

import socket
import sys

import pandas as pd
import pytest

from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.errors import ConfigError, DataError
from bt_attention_lstm.runners.research.engines import (
    RAY_MISSING,
    LocalEngine,
    RayEngine,
    check_address,
    make_engine,
    split_threads,
)
from bt_attention_lstm.runners.research.walkforward.fold import fold_jobs, run_fold
from bt_attention_lstm.runners.research.walkforward.plan import plan_folds
from tests.runners.conftest import TEST_BARS, TRAIN_BARS


def assert_same_folds(a, b) -> None:
    assert [o.plan for o in a] == [o.plan for o in b]
    for x, y in zip(a, b, strict=True):
        assert x.weights_sha256 == y.weights_sha256  # bit-identical models
        assert x.val_loss == y.val_loss
        pd.testing.assert_frame_equal(x.returns, y.returns, check_exact=True)
        pd.testing.assert_frame_equal(x.trades, y.trades, check_exact=True)
        assert x.final_value == y.final_value


@pytest.fixture(scope="module")
def tiny_jobs(tiny_market):
    from bt_attention_lstm.runners.research.cerebro import BrokerConfig
    from bt_attention_lstm.runners.research.walkforward.fold import FoldSettings
    from tests.runners.conftest import TINY_MODEL, TINY_STRATEGY, TINY_TRAIN

    settings = FoldSettings(TINY_MODEL, TINY_TRAIN, dict(TINY_STRATEGY), BrokerConfig(), 252.0)
    plans = plan_folds(len(tiny_market), TRAIN_BARS, TEST_BARS, TINY_TRAIN.horizon)
    assert len(plans) == 2
    return fold_jobs(tiny_market, plans, settings, threads=1)


def test_local_pool_and_ray_give_identical_folds(tiny_jobs, ray_local):
    local = LocalEngine(workers=2).map(run_fold, tiny_jobs, desc="local", progress=False)
    engine = RayEngine(workers=2)
    try:
        remote = engine.map(run_fold, tiny_jobs, desc="ray", progress=False)
    finally:
        engine.close()
    assert ray_local.is_initialized()  # an engine leaves a Ray it did not start running
    assert_same_folds(local, remote)
    assert sum(o.n_trades for o in local) > 0  # the comparison covered real trades


def test_local_pool_keeps_job_order_and_a_single_worker_runs_in_process():
    jobs = [-5, 3, -1, 0, 7]
    assert LocalEngine(workers=2).map(abs, jobs, desc="", progress=False) == [5, 3, 1, 0, 7]
    assert LocalEngine(workers=1).map(abs, jobs, desc="", progress=False) == [5, 3, 1, 0, 7]


@pytest.mark.parametrize("kind", ["local", "ray"])
def test_a_workers_typed_error_reaches_the_caller_as_itself(kind, tmp_path, request):
    if kind == "ray":
        request.getfixturevalue("ray_local")
    engine = make_engine(kind, workers=2)
    missing = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    try:
        with pytest.raises(DataError, match=r"a\.csv|b\.csv") as info:
            engine.map(load_ohlcv, missing, desc="", progress=False)
    finally:
        engine.close()
    assert type(info.value) is DataError  # not wrapped: runners print it as one line


def test_ray_cluster_cpus_set_workers_and_threads(ray_local):
    engine = RayEngine()
    try:
        assert engine.cluster_cpus == 2 and engine.workers == 2
        assert engine.threads_per_job() == 1
        assert "ray" in engine.describe()
    finally:
        engine.close()


def test_threads_share_the_cores_out_among_workers():
    assert split_threads(16, 4) == 4
    assert split_threads(2, 2) == 1
    assert split_threads(2, 8) == 1
    assert split_threads(8, 1) == 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["localhost", "ray://", "host:port", "http://h:1", "a b:1"])
def test_malformed_addresses_are_refused(address):
    with pytest.raises(ConfigError, match="is not auto, HOST:PORT or ray://HOST:PORT"):
        check_address(address)


def test_an_unreachable_address_is_refused_at_once():
    port = free_port()  # nothing listens there any more
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(ConfigError, match="cannot reach a Ray cluster"):
            check_address(address)


def test_address_needs_the_ray_engine_and_workers_must_be_positive():
    with pytest.raises(ConfigError, match="`address` only applies to `engine`=ray"):
        make_engine("local", address="auto")
    with pytest.raises(ConfigError, match="`workers` must be >= 1"):
        make_engine("local", workers=0)
    with pytest.raises(ConfigError, match="unknown engine"):
        make_engine("spark")


def test_without_ray_installed_the_ray_engine_says_how_to_get_it(monkeypatch):
    # The real condition (Ray absent) cannot run in an environment that has it: hide the module.
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError) as info:
        make_engine("ray")
    assert str(info.value) == RAY_MISSING
    assert 'pip install -e ".[distributed]"' in RAY_MISSING and "`engine`=local" in RAY_MISSING
