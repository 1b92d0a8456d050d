"""Fixtures: a real nats-server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Generator, Iterator
from typing import Any
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def nats_server_binary() -> str | None:
    """$NATS_SERVER, the repo's .tools/bin/nats-server, /usr/sbin/nats-server, or nats-server on PATH."""
    for cand in (os.environ.get("NATS_SERVER"), str(REPO / ".tools" / "bin" / "nats-server"), "/usr/sbin/nats-server"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return shutil.which("nats-server")


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Returns once something accepts connections on 127.0.0.1:`port`; fails if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"nats-server did not start: {err[-500:]}")
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def nats_url() -> Iterator[str]:
    binary = nats_server_binary()
    if binary is None:
        pytest.skip("no nats-server binary (.tools/bin/nats-server, /usr/sbin/nats-server, $NATS_SERVER)")
    port = free_port()
    proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _require_all() -> bool:
    """``STK_REQUIRE_ALL=1`` (set by the project's ``npm test``): a skip is a failure, so a missing
    nats-server, build or optional package cannot pass the suite by skipping what it checks."""
    return os.environ.get("STK_REQUIRE_ALL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    rep = outcome.get_result()
    if _require_all() and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"skipped, and STK_REQUIRE_ALL=1 forbids skips: {rep.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    rep = outcome.get_result()
    if _require_all() and rep.skipped:
        rep.outcome = "failed"
        rep.longrepr = f"module skipped, and STK_REQUIRE_ALL=1 forbids skips: {rep.longrepr}"
