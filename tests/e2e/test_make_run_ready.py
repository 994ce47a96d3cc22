"""`make run` answers only when it is ready, and SIGTERM to its process group stops everything it started.

A client that polls the API from the first instant never gets an error: the port stays closed while the engine
starts, the tables are created and the seed runs (a refused connection), then every answer is a real one. SIGTERM to
the process group (what a terminal, `timeout` or a supervisor sends) stops DynamoDB Local and chalice local too,
whether it comes after the start or in the middle of the seed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.run import READY, stop_group
from tests.e2e.test_make_run import Launch, alive, clean_environment, listening, ours

STOP_TIMEOUT = 60.0
REFUSED = -1


@pytest.fixture
def launches() -> Iterator[list[Launch]]:
    """Every launch of the test; any still running at the end is stopped, and so is what it left behind."""
    started: list[Launch] = []
    yield started
    for launch in started:
        stop_group(launch.process)
        for pid in launch.child_pids():
            if ours(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def four_ports() -> tuple[int, int, int, int]:
    from devtools import ddb_local

    ports: list[int] = []
    while len(ports) < 4:
        port = ddb_local.free_port()
        if port not in ports:
            ports.append(port)
    return ports[0], ports[1], ports[2], ports[3]


def environment(data: Path) -> tuple[dict[str, str], int, int, int]:
    api, ddb, s3, web = four_ports()
    env = clean_environment(
        {"PORT": str(api), "DDB_PORT": str(ddb), "S3_PORT": str(s3), "WEB_PORT": str(web), "DATA_DIR": str(data)}
    )
    return {**env, "SEED": "1"}, api, ddb, web


class Poller:
    """Asks the public catalog every 50 ms from the start; records each status, or REFUSED while the port is shut."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=30) as response:
                    self.statuses.append(response.status)
            except urllib.error.HTTPError as failure:
                self.statuses.append(failure.code)
            except OSError:
                self.statuses.append(REFUSED)
            time.sleep(0.05)

    def stop(self) -> list[int]:
        self._done.set()
        self._thread.join(timeout=60)
        return self.statuses


def processes_with(needle: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def terminate_group(launch: Launch) -> int:
    os.killpg(launch.process.pid, signal.SIGTERM)  # the launch is the leader of its own process group
    return launch.process.wait(timeout=STOP_TIMEOUT)


def test_the_api_port_opens_only_when_the_seeded_tables_are_ready_and_sigterm_to_the_group_stops_everything(
    tmp_path: Path, launches: list[Launch]
) -> None:
    env, api, ddb, web = environment(tmp_path / "data")
    launch = Launch.start(env)
    launches.append(launch)
    poller = Poller(f"http://127.0.0.1:{api}/programs?limit=5")
    launch.wait_for(READY)
    time.sleep(0.5)
    statuses = poller.stop()

    assert statuses[0] == REFUSED, statuses[:5]  # shut while the engine started and the seed ran
    answered = [status for status in statuses if status != REFUSED]
    assert answered and set(answered) == {200}, sorted(set(statuses))  # then only real answers: never a 500
    assert statuses.index(200) > 0 and REFUSED not in statuses[statuses.index(200) :]
    with urllib.request.urlopen(f"http://127.0.0.1:{web}/config.json", timeout=30) as response:
        assert response.status == 200  # the Navigator is served too

    pids = launch.child_pids()
    assert len(pids) == 2, launch.output  # DynamoDB Local and chalice local
    assert terminate_group(launch) == 0, launch.output
    assert not any(alive(pid) for pid in pids)
    assert not listening(api) and not listening(ddb) and not listening(web)


def test_sigterm_to_the_group_in_the_middle_of_the_seed_stops_dynamodb_local_and_chalice(
    tmp_path: Path, launches: list[Launch]
) -> None:
    env, api, ddb, web = environment(tmp_path / "data")
    launch = Launch.start(env)
    launches.append(launch)
    launch.wait_for("seed: ")  # tables created, the seed writing
    (engine,) = launch.child_pids()  # only DynamoDB Local is announced before the end of the start
    chalice = processes_with(f"--port\0{api}\0".encode())
    assert chalice, "chalice local is launched early (it imports the app while the seed runs)"
    assert not listening(api)  # its port is still shut

    assert terminate_group(launch) == 0, launch.output
    assert not alive(engine) and not any(alive(pid) for pid in chalice)
    assert not listening(api) and not listening(ddb) and not listening(web)
