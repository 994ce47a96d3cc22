"""`make run` end to end: `python -m devtools.run` starts, seeds, serves, prints tokens that work (the catalog has the
seeded programs, the provider token sees its contracts), stops everything on SIGINT with exit code 0, and a second
start finds the data of the first (not duplicated by seeding again)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devtools import ddb_local, seed
from devtools.run import READY, stop_group

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0  # an upper bound for a loaded machine; a start takes about 10 s
STOP_TIMEOUT = 30.0
IVANOVA = seed.FAMILIES[0]


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFDO_", "AWS_"))}
    return {**env, **extra}


@dataclass
class Launch:
    """One `python -m devtools.run`, its output read line by line as it comes."""

    process: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)
    _incoming: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, env: dict[str, str]) -> Launch:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        launch = cls(process)
        threading.Thread(target=launch._read, daemon=True).start()
        return launch

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self._incoming.put(raw.decode("utf-8", errors="replace").rstrip("\n"))
        self._incoming.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, prefix: str, timeout: float = START_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._incoming.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line starting {prefix!r} within {timeout}s:\n{self.output}") from None
            if line is None:
                self.process.wait(timeout=STOP_TIMEOUT)
                raise AssertionError(f"exited with {self.process.returncode} before {prefix!r}:\n{self.output}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def exports(self) -> dict[str, str]:
        """The tokens printed as ``export NAME=token  # who``."""
        found = {}
        for line in self.lines:
            match = re.match(r"^export (\w+)=(\S+)", line)
            if match:
                found[match.group(1)] = match.group(2)
        return found

    def child_pids(self) -> list[int]:
        return [int(pid) for line in self.lines for pid in re.findall(r"\(pid (\d+)\)", line)]

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=STOP_TIMEOUT)
        while self._incoming.get(timeout=STOP_TIMEOUT) is not None:  # the rest of the output, to the end
            pass
        return code


def call(url: str, token: str | None, method: str = "GET") -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as failure:
        return failure.code, json.loads(failure.read() or b"null")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def ours(pid: int) -> bool:
    """The pid is still one of the servers run.py started (not a pid reused since by something else)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"DynamoDBLocal.jar" in command or b"chalice.cli" in command


@pytest.fixture
def launches() -> Iterator[list[Launch]]:
    """Every launch of the test; any still running at the end is stopped (run.py then stops its children)."""
    started: list[Launch] = []
    yield started
    for launch in started:
        stop_group(launch.process)
        for pid in launch.child_pids():
            if ours(pid):  # left behind only if run.py itself was killed
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def three_ports() -> tuple[int, int, int]:
    ports: list[int] = []
    while len(ports) < 3:
        port = ddb_local.free_port()
        if port not in ports:
            ports.append(port)
    return ports[0], ports[1], ports[2]


def catalog(url: str, municipality: str) -> list[dict[str, Any]]:
    """Every catalog item of a municipality, following the cursor (a page may be short, even empty, with a cursor)."""
    items: list[dict[str, Any]] = []
    query = f"municipality={municipality}&limit=50"
    for _ in range(20):
        status, page = call(f"{url}/programs?{query}", None)
        assert status == 200, page
        items += page["items"]
        if page["cursor"] is None:
            return items
        query = f"municipality={municipality}&limit=50&cursor={urllib.parse.quote(page['cursor'])}"
    raise AssertionError("the catalog kept handing out cursors")


def provider_contracts(url: str, token: str) -> list[dict[str, Any]]:
    status, body = call(f"{url}/contracts?limit=50", token)
    assert status == 200, body
    return list(body["contracts"])


def seeded_programs(municipality: str) -> set[str]:
    slugs = {p.slug for p in seed.PROVIDERS if p.municipality == municipality}
    return {p.title for p in seed.PROGRAMS if p.provider in slugs}


def test_run_serves_the_seeded_region_stops_on_sigint_and_keeps_its_data(
    tmp_path: Path, launches: list[Launch]
) -> None:
    api_port, ddb_port, s3_port = three_ports()
    env = clean_environment(
        {
            "PORT": str(api_port),
            "DDB_PORT": str(ddb_port),
            "S3_PORT": str(s3_port),
            "DATA_DIR": str(tmp_path / "data"),
            "SEED": "1",
        }
    )
    url = f"http://127.0.0.1:{api_port}"

    first = Launch.start(env)
    launches.append(first)
    first.wait_for(READY)
    tokens = first.exports()
    assert {"OPERATOR", "OPERATOR_ELIZOVO", "PARENT", "PROVIDER"} <= set(tokens)

    status, body = call(f"{url}/children", tokens["PARENT"])
    assert status == 200, body
    children = {c["full_name"]: c["certificate"] for c in body["children"]}
    assert set(children) == {c.full_name for c in IVANOVA.children}
    for child in IVANOVA.children:
        assert children[child.full_name]["status"] == ("funded" if child.funded else "accounting")

    period_id = next(c["period_id"] for c in children.values() if c["status"] == "funded")
    status, period = call(f"{url}/periods/{period_id}", tokens["OPERATOR"])
    assert status == 200, period
    quotas = {q["municipality"]: q for q in period["quotas"]}
    assert quotas["milkovo"]["remaining"] == 0  # the seed uses Milkovo's quota up
    funded_before = {m: q["funded"] for m, q in quotas.items()}

    # The catalog (public) shows the seeded programs of a municipality, with their providers' ИНН.
    elizovo = catalog(url, "elizovo")
    assert {item["title"] for item in elizovo} == seeded_programs("elizovo")
    assert {item["municipality"] for item in elizovo} == {"elizovo"}
    # The PROVIDER token is an approved seeded provider's (provider_id is its ИНН) and sees its contracts.
    contracts_before = provider_contracts(url, tokens["PROVIDER"])
    seeded_for_demo = {c.program for c in seed.CONTRACTS if c.provider == seed.DEMO_PROVIDER.slug}
    assert {c["program_title"] for c in contracts_before} == seeded_for_demo
    assert {c["provider_id"] for c in contracts_before} == {seed.DEMO_PROVIDER.inn}
    assert any(c["status"] == "active" and c["charges"] for c in contracts_before), contracts_before

    # A change made through the API, to find after the restart.
    accounting = next(c["id"] for c in children.values() if c["status"] == "accounting")
    status, funded = call(f"{url}/certificates/{accounting}/funding", tokens["PARENT"], "POST")
    assert status == 200, funded
    assert funded["status"] == "funded"

    pids = first.child_pids()
    assert len(pids) == 2, first.output  # DynamoDB Local and chalice local (S3 is a thread of run.py)
    assert listening(s3_port)
    assert first.interrupt() == 0, first.output
    assert not listening(api_port) and not listening(ddb_port) and not listening(s3_port)
    assert not any(alive(pid) for pid in pids)

    second = Launch.start(env)
    launches.append(second)
    second.wait_for(READY)
    status, body = call(f"{url}/children", second.exports()["PARENT"])
    assert status == 200, body
    after = {c["full_name"]: c["certificate"] for c in body["children"]}
    assert {name: c["id"] for name, c in after.items()} == {name: c["id"] for name, c in children.items()}
    assert after[next(n for n, c in children.items() if c["id"] == accounting)]["status"] == "funded"
    status, period = call(f"{url}/periods/{period_id}", second.exports()["OPERATOR"])
    assert status == 200, period
    funded_after = {q["municipality"]: q["funded"] for q in period["quotas"]}
    assert funded_after == {**funded_before, IVANOVA.municipality: funded_before[IVANOVA.municipality] + 1}
    assert "seed: opened period" not in second.output
    assert "registered" not in second.output
    for created in (" applied", " approved by ", "programs published", " accepted", " charged "):
        assert created not in second.output, second.output
    assert len(catalog(url, "elizovo")) == len(elizovo)
    contracts_after = provider_contracts(url, second.exports()["PROVIDER"])
    assert sorted(c["id"] for c in contracts_after) == sorted(c["id"] for c in contracts_before)

    assert second.interrupt() == 0, second.output
    assert not listening(api_port) and not listening(ddb_port) and not listening(s3_port)


def test_run_refuses_a_taken_port_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_environment(
            {"PORT": str(port), "DDB_PORT": str(ddb_local.free_port()), "DATA_DIR": str(tmp_path), "SEED": "0"}
        )
        done = subprocess.run(
            [sys.executable, "-m", "devtools.run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert f"port {port} (PORT) is already in use" in done.stderr
    assert not (tmp_path / "ddb").exists()  # nothing was started
