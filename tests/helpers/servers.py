"""Starting a server the tests talk to on loopback (Label Studio, `policy-clauses serve`) and
stopping it with everything it started, whatever happens in the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(command: Sequence[str], *, url: str, name: str, cwd: Path, env: dict[str, str],
            log_path: Path, seconds: float, poll: float) -> Iterator[subprocess.Popen]:
    """Run ``command`` in its own process group until ``url``/health answers 200 (the test
    fails with the log's tail if it exits or takes longer than ``seconds``); stop it after."""
    log = log_path.open("w")
    process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + seconds
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=poll * 2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer /health within {seconds:.0f} s")
            time.sleep(poll)
        yield process
    finally:
        # A server that exited at start has no process group left; raising here would hide the
        # failure above (the log's tail) behind a ProcessLookupError.
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
        log.close()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, sig)
