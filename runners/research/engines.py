"""Where independent jobs run: a local process pool or a Ray cluster, behind one small interface.

Both engines call a picklable module-level function on each job and return the results in job
order, so a walk-forward or a sweep gives the same numbers whichever engine ran it. Ray is the
``distributed`` extra and is imported only when asked for.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import re
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tqdm.auto import tqdm

from bt_attention_lstm.models.errors import ConfigError, PluginError

logger = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")

ENGINE_CHOICES = ("local", "ray")
RAY_MISSING = (
    "`engine`=ray needs Ray: pip install -e \".[distributed]\" (or use `engine`=local)"
)
REPO_ROOT = Path(__file__).resolve().parents[2]
_HOST_PORT = re.compile(r"^(?:ray://)?(?P<host>[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")


class Engine(Protocol):
    name: str
    workers: int

    def map(
        self, fn: Callable[[J], R], jobs: Sequence[J], desc: str, progress: bool = True
    ) -> list[R]: ...

    def threads_per_job(self) -> int: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


def cpu_count() -> int:
    return os.cpu_count() or 1


def split_threads(cores: int, workers: int) -> int:
    """Intra-op torch threads per job: the cores shared out among concurrent jobs.

    Several workers each spinning all cores' worth of OpenMP threads oversubscribe the machine
    and make training many times slower; one thread per job when workers >= cores.
    """
    return max(1, cores // max(1, workers))


class LocalEngine:
    """A ``ProcessPoolExecutor`` on this machine (spawned workers: safe with torch/OpenMP)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"`workers` must be >= 1, got {workers}")
        self.workers = workers or cpu_count()

    def threads_per_job(self) -> int:
        return split_threads(cpu_count(), self.workers)

    def describe(self) -> str:
        return f"local process pool, {self.workers} worker(s)"

    def map(
        self, fn: Callable[[J], R], jobs: Sequence[J], desc: str, progress: bool = True
    ) -> list[R]:
        if self.workers == 1 or len(jobs) <= 1:
            # Nothing runs alongside: no pool to start, and tracebacks stay readable.
            return [fn(job) for job in tqdm(jobs, desc=desc, disable=not progress)]
        results: list[Any] = [None] * len(jobs)
        context = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(max_workers=min(self.workers, len(jobs)), mp_context=context)
        try:
            futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
            with tqdm(total=len(jobs), desc=desc, disable=not progress) as bar:
                for future in cf.as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update(1)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return results

    def close(self) -> None:
        """Nothing is left running between maps."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(RAY_MISSING) from exc
    return ray


def check_address(address: str) -> None:
    """Refuse a malformed or unreachable address at once (Ray itself would wait for minutes)."""
    if address == "auto":
        return
    match = _HOST_PORT.match(address)
    if not match:
        raise ConfigError(
            f"`address` {address!r} is not auto, HOST:PORT or ray://HOST:PORT"
        )
    host, port = match["host"].strip("[]"), int(match["port"])
    try:
        with socket.create_connection((host, port), timeout=5):
            pass
    except OSError as exc:
        raise ConfigError(f"`address` {address}: cannot reach a Ray cluster there ({exc})") from exc


def start_ray(address: str | None, num_cpus: int | None = None) -> bool:
    """Connect to Ray; returns whether this call started it (and so must shut it down).

    No address: a private local Ray with the machine's cores, no dashboard, worker logs kept out
    of the terminal. ``auto`` or ``[ray://]host:port``: join that cluster.
    """
    ray = import_ray()
    if address is not None:
        check_address(address)  # also when already connected: a bad address is still an error
    if ray.is_initialized():
        return False  # a caller (a test, a notebook) already connected: use it as it is
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    logging.getLogger("ray").setLevel(logging.ERROR)
    if address is None:
        # Workers import this repo's packages: make them importable without an install.
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        ray.init(
            num_cpus=num_cpus or cpu_count(),
            include_dashboard=False,
            ignore_reinit_error=True,
            runtime_env={"env_vars": {"PYTHONPATH": path}},
            **quiet,
        )
        return True
    try:
        ray.init(address=address, ignore_reinit_error=True, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"`address` {address}: {str(exc).splitlines()[0]}") from exc
    return True


class RayEngine:
    """Ray tasks, at most ``workers`` in flight, each reserving the CPUs its torch threads use."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"`workers` must be >= 1, got {workers}")
        self._ray = import_ray()
        self.address = address
        self._started = start_ray(address)
        self.cluster_cpus = max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        self.workers = workers or self.cluster_cpus

    def threads_per_job(self) -> int:
        return split_threads(self.cluster_cpus, self.workers)

    def describe(self) -> str:
        where = self.address or "local"
        return f"ray ({where}, {self.cluster_cpus} CPU(s)), {self.workers} worker(s)"

    def map(
        self, fn: Callable[[J], R], jobs: Sequence[J], desc: str, progress: bool = True
    ) -> list[R]:
        ray = self._ray
        task = ray.remote(fn).options(num_cpus=self.threads_per_job(), max_retries=0)
        results: list[Any] = [None] * len(jobs)
        pending: dict[Any, int] = {}
        queue = list(enumerate(jobs))
        try:
            with tqdm(total=len(jobs), desc=desc, disable=not progress) as bar:
                while queue or pending:
                    while queue and len(pending) < self.workers:
                        i, job = queue.pop(0)
                        pending[task.remote(job)] = i
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        results[pending.pop(ref)] = _ray_get(ray, ref)
                        bar.update(1)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return results

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def _ray_get(ray: Any, ref: Any) -> Any:
    """``ray.get`` that re-raises a worker's own typed error (one line for the user)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, PluginError):
            raise exc.cause from None
        raise


def make_engine(kind: str, address: str | None = None, workers: int | None = None) -> Engine:
    if kind not in ENGINE_CHOICES:
        raise ConfigError(f"unknown engine {kind!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    if kind == "local":
        if address:
            raise ConfigError("`address` only applies to `engine`=ray")
        return LocalEngine(workers)
    return RayEngine(address, workers)
