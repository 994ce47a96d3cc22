"""The real `chalice local` server answers concurrent requests each for its own caller.

Upstream concern (aws/chalice#759): ``app.current_request`` was shared between the threads of the threaded local
server, so a request could be answered with another caller's identity. Here 50 parents call at once, released
together by a barrier, and every answer must be about the caller's own child.

The server is launched as `make run` launches it (``devtools.run.chalice_command``: `chalice local --stage local`
with a larger listen backlog), plus thread switches forced every microsecond, against a DynamoDB Local of its own in
memory: the local stage's table prefix comes from .chalice/config.json and cannot be changed per test.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from devtools import ddb_local
from devtools.run import answers, chalice_command, stage_environment, stop_group

ROOT = Path(__file__).resolve().parents[2]
CALLERS = 50
ROUNDS = 3
MUNICIPALITY = "elizovo"
# The server's threads switch every microsecond instead of every 5 ms, so a request object shared between threads
# would be overwritten inside a request (measured: with a shared current_request and this, reads get other callers'
# children; without it the window is too short to hit).
FORCE_THREAD_SWITCHES = "sys.setswitchinterval(1e-6)"
FIRST_NAMES = ("Артём", "Михаил", "Иван", "Максим", "Лев", "Марк", "Матвей", "Тимофей", "Егор", "Фёдор")
SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Орлов")


def child_name(n: int) -> str:
    """A distinct name of letters only (the service refuses digits) for each n in 0..99."""
    return f"{SURNAMES[n // 10]} {FIRST_NAMES[n % 10]}"


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without settings another fixture may have exported, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFDO_", "AWS_"))}
    return {**env, **extra}


@dataclass
class Server:
    url: str
    log: Path
    statuses: list[int]
    _lock: threading.Lock

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as failure:
            status, payload = failure.code, failure.read()
        with self._lock:
            self.statuses.append(status)
        return status, json.loads(payload) if payload else None

    def assert_no_server_error(self) -> None:
        """No 5xx answered so far, and nothing failed inside the server."""
        with self._lock:
            assert self.statuses and all(status < 500 for status in self.statuses), sorted(set(self.statuses))
        log = self.log.read_text(encoding="utf-8", errors="replace")
        assert "internal_error" not in log
        assert "Traceback" not in log

    def token(self, sub: str) -> str:
        status, body = self.call("POST", "/dev/token", body={"role": "parent", "sub": sub})
        assert status == 201, body
        return str(body["token"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    engine: ddb_local.LocalEngine | None = None
    api: subprocess.Popen[bytes] | None = None
    log = tmp_path_factory.mktemp("chalice-local") / "chalice.log"
    engine_port, api_port = ddb_local.free_port(), ddb_local.free_port()
    while api_port == engine_port:
        api_port = ddb_local.free_port()
    env = clean_environment(ddb_local.local_aws_environment(f"http://127.0.0.1:{engine_port}"))
    try:
        # chalice imports the app while the engine starts and the tables are created.
        with log.open("wb") as output:
            api = subprocess.Popen(
                chalice_command(api_port, FORCE_THREAD_SWITCHES),
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        engine = ddb_local.start(port=engine_port)
        prefix = stage_environment()["PFDO_TABLE_PREFIX"]
        # In a child process, so this test process's models stay bound to whatever the other tests use.
        subprocess.run(
            [sys.executable, "-c", f"from chalicelib.storage.tables import create_tables; create_tables({prefix!r})"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
        url = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 120
        while not answers(f"{url}/children"):
            assert api.poll() is None, f"chalice local exited with {api.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"chalice local did not answer:\n{log.read_text()}"
            time.sleep(0.1)
        yield Server(url, log, [], threading.Lock())
    finally:
        if api is not None:
            stop_group(api)
        if engine is not None:
            stop_group(engine.process)


def all_at_once(count: int, work: Callable[[int], Any]) -> tuple[list[Any], int]:
    """Runs ``work(0..count-1)`` in ``count`` threads released together by a barrier.

    Returns the results in order and the most requests seen in flight at the same time (from the client's side).
    """
    barrier = threading.Barrier(count)
    lock = threading.Lock()
    in_flight = [0, 0]  # now, peak

    def task(n: int) -> Any:
        barrier.wait(timeout=60)
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        try:
            return work(n)
        finally:
            with lock:
                in_flight[0] -= 1

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(task, range(count)))
    return results, in_flight[1]


def birth_date(n: int) -> str:
    return date(date.today().year - 6 - n % 10, 1 + n % 12, 1 + n % 28).isoformat()


@pytest.fixture(scope="module")
def families(server: Server) -> dict[str, tuple[str, str, str]]:
    """50 parents with one child each: sub -> (token, child's name, certificate id)."""

    def register(n: int) -> tuple[str, tuple[str, str, str]]:
        sub = f"parent-load-{n:02d}"
        token = server.token(sub)
        body = {"full_name": child_name(n), "birth_date": birth_date(n), "municipality": MUNICIPALITY}
        status, child = server.call("POST", "/children", token, body)
        assert status == 201, child
        return sub, (token, child_name(n), child["certificate"]["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(register, range(CALLERS)))


def test_concurrent_reads_each_see_only_their_own_child(server: Server, families: dict[str, Any]) -> None:
    callers = sorted(families)

    def read(n: int) -> tuple[int, Any]:
        token, _, _ = families[callers[n]]
        return server.call("GET", "/children", token)

    for _ in range(ROUNDS):
        results, peak = all_at_once(CALLERS, read)
        assert peak > 1, "the requests did not overlap"
        for sub, (status, body) in zip(callers, results, strict=True):
            _, name, certificate_id = families[sub]
            assert status == 200, body
            assert [(c["full_name"], c["certificate"]["id"]) for c in body["children"]] == [(name, certificate_id)]
    server.assert_no_server_error()


def test_concurrent_registrations_each_belong_to_their_caller(server: Server) -> None:
    subs = [f"parent-race-{n:02d}" for n in range(CALLERS)]
    tokens = [server.token(sub) for sub in subs]
    names = [child_name(CALLERS + n) for n in range(CALLERS)]  # none of the readers' names

    def register(n: int) -> tuple[int, Any]:
        body = {"full_name": names[n], "birth_date": birth_date(n), "municipality": MUNICIPALITY}
        return server.call("POST", "/children", tokens[n], body)

    registered, peak = all_at_once(CALLERS, register)
    assert peak > 1, "the requests did not overlap"
    for n, (status, child) in enumerate(registered):
        assert status == 201, child
        assert child["full_name"] == names[n]
    ids = [child["certificate"]["id"] for _, child in registered]
    assert len(set(ids)) == CALLERS

    listed, _ = all_at_once(CALLERS, lambda n: server.call("GET", "/children", tokens[n]))
    for n, (status, body) in enumerate(listed):
        assert status == 200, body
        assert [(c["full_name"], c["certificate"]["id"]) for c in body["children"]] == [(names[n], ids[n])]

    # A certificate is visible to its own parent only: another parent's token finds nothing.
    for n in range(0, CALLERS, 10):
        other = tokens[(n + 1) % CALLERS]
        status, body = server.call("GET", f"/certificates/{ids[n]}", other)
        assert status == 404, body
    server.assert_no_server_error()


def _raw(server: Server, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request with any method (urllib refuses some), as an outside scanner sends it."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO", "HEAD"])
def test_a_method_the_api_does_not_serve_is_a_json_405_as_the_function_url_answers(server: Server, method: str) -> None:
    """The outside review's scanner got the HTTP server's HTML 501 for TRACE; the Function URL adapter answers 405."""
    status, headers, body = _raw(server, method, "/children")
    assert status == 405, body
    assert headers["content-type"] == "application/json"
    assert headers["allow"] == "GET, POST"
    if method != "HEAD":  # a HEAD answer carries no body
        assert json.loads(body)["error"]["code"] == "method_not_allowed"
    status, headers, body = _raw(server, method, "/no/such/path")
    assert status == 404 and headers["content-type"] == "application/json"


def test_a_request_the_http_server_cannot_parse_is_answered_in_json(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(b"GET /chil dren HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["error"]["code"] == "bad_request"
