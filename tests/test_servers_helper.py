"""The integration tests' server harness reports a server that dies at start with its log."""

from __future__ import annotations

import sys

import pytest

from tests.helpers.servers import serving


def test_a_server_that_exits_at_start_fails_with_its_log(tmp_path):
    command = [sys.executable, "-c", "print('settings module failed to import')"]
    server = serving(command, url="http://127.0.0.1:9", name="server", cwd=tmp_path, env={},
                     log_path=tmp_path / "server.log", seconds=30, poll=0.2)
    with pytest.raises(pytest.fail.Exception, match="exited: settings module failed to import"), \
            server:
        pass
