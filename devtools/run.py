"""`make run`: the whole system on this machine, with a demo region.

Starts a local S3 (moto's server, in a thread of this process, in memory) with the documents bucket, DynamoDB Local
on disk under DATA_DIR, creates the local stage's tables, seeds the demo region (unless SEED=0; seeding is idempotent,
so every start may seed), serves the API with `chalice local` on 127.0.0.1 (AWS_ENDPOINT_URL_S3 pointing at the local
S3) and the Navigator (web/dist, built by `make web`) on its own origin, prints the URLs and ready-made tokens, and on
Ctrl-C (SIGINT), SIGTERM or SIGHUP stops both servers by their process group, then the S3 and web threads, and exits 0.

The API's port opens only when everything is ready: `chalice local` is launched early, so it imports the app while
the engine starts and the seed runs, but it binds its port only once run.py tells it to (devtools/local_gateway.py),
after the tables exist and the seed is in. A request never meets missing tables. Each request goes through the
Function URL handler, as in AWS, which answers CORS for the Navigator's origin.

Environment: PORT (API, default 8000), DDB_PORT (DynamoDB Local, default 8001), S3_PORT (the local S3, default 8002;
0 takes any free port), WEB_PORT (the Navigator, default 8080), DATA_DIR (default .data), SEED (default 1).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from moto.server import ThreadedMotoServer

from chalicelib.domain.actors import WHOLE_REGION
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.platform.auth import issue_local_token
from chalicelib.platform.clock import SystemClock
from chalicelib.platform.config import Settings
from chalicelib.services.context import Context
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage.documents import DocumentStore
from chalicelib.storage.tables import create_tables, enable_streams
from devtools import ddb_local, local_gateway, seed
from devtools import streams as local_streams
from devtools.web_server import DIST, WebServer

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"
HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
# The line that tells a reader (a person, or tests/e2e/test_make_run.py) that everything is up.
READY = "Ready:"

MUNICIPAL_OPERATOR = {"role": "operator", "sub": "operator-elizovo", "municipality": "elizovo"}
REGIONAL_OPERATOR = {"role": "operator", "sub": seed.REGIONAL_OPERATOR.sub, "municipality": WHOLE_REGION}
PROVIDER = {"role": "provider", "sub": seed.DEMO_PROVIDER.sub, "provider_id": seed.DEMO_PROVIDER.inn}
PARENTS_SHOWN = 3


class StartupError(RuntimeError):
    """Something the user can fix (a port taken, a bad variable); printed without a traceback."""


class Stop(BaseException):
    """SIGINT or SIGTERM asked us to stop (a BaseException, as KeyboardInterrupt: no ``except Exception`` on the way,
    in our code or a library's, may swallow it and leave a server running)."""


@dataclass(frozen=True)
class Options:
    port: int
    ddb_port: int
    data_dir: Path
    seed: bool
    s3_port: int = 8002  # 0: any free port
    web_port: int = 8080

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Options:
        port = _port(env, "PORT", 8000)
        ddb_port = _port(env, "DDB_PORT", 8001)
        if port == ddb_port:
            raise StartupError(f"PORT and DDB_PORT must differ (both are {port})")
        s3_port = 0 if env.get("S3_PORT", "").strip() == "0" else _port(env, "S3_PORT", 8002)
        if s3_port in (port, ddb_port):
            raise StartupError(f"S3_PORT must differ from PORT and DDB_PORT (it is {s3_port})")
        web_port = _port(env, "WEB_PORT", 8080)
        if web_port in (port, ddb_port, s3_port):
            raise StartupError(f"WEB_PORT must differ from PORT, DDB_PORT and S3_PORT (it is {web_port})")
        seed_flag = env.get("SEED", "1").strip()
        if seed_flag not in ("0", "1"):
            raise StartupError(f"SEED must be 0 or 1, got {seed_flag!r}")
        data_dir = Path(env.get("DATA_DIR") or ".data").expanduser().resolve()
        return cls(port, ddb_port, data_dir, seed_flag == "1", s3_port, web_port)


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip() or str(default)
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise StartupError(f"{name} must be a port number (1-65535), got {text!r}")
    return int(text)


# --- signals and processes ------------------------------------------------------------------------------------------


class Signals:
    """Turns SIGINT, SIGTERM and SIGHUP (the terminal closed) into ``Stop``, except inside ``deferred()``: a process
    being started is always recorded before we stop, so nothing we started is left behind.

    The servers run in sessions of their own, so Ctrl-C reaches only this process, which stops them in order.
    """

    HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: str | None = None
        self._deferring = False

    def install(self) -> None:
        for signum in self.HANDLED:
            signal.signal(signum, self._handle)

    def ignore(self) -> None:
        for signum in self.HANDLED:
            signal.signal(signum, signal.SIG_IGN)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        if not self._deferring:
            raise Stop(self.received)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self.received:
            raise Stop(self.received)


def stop_group(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Ends a child started in its own session: SIGTERM to its process group, SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def require_free(port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no conflict
        try:
            probe.bind((HOST, port))
        except OSError as failure:
            if failure.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"port {port} ({variable}) is already in use: stop what listens there (another `make run`?) "
                    f"or choose another, e.g. `make run {variable}={port + 10}`"
                ) from None
            raise


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
    except urllib.error.HTTPError:
        return True  # any HTTP answer (401 here) means the server is up
    except OSError:
        return False
    return True


# --- configuration ---------------------------------------------------------------------------------------------------


def stage_environment(stage: str = STAGE) -> dict[str, str]:
    """The stage's environment from .chalice/config.json: what `chalice local --stage local` applies too."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return dict(config["stages"][stage]["environment_variables"])


def stage_settings(stage: str = STAGE) -> Settings:
    values: dict[str, Any] = {
        name.removeprefix("PFDO_").lower(): value
        for name, value in stage_environment(stage).items()
        if name.startswith("PFDO_")
    }
    return Settings(**values)


# --- the Navigator ---------------------------------------------------------------------------------------------------

REGION = ROOT / "web" / "region.json"  # the region's municipalities by id, with their Russian names


def web_origins(web_port: int) -> list[str]:
    """The origins the local API answers CORS for: the Navigator's, by IP and by name."""
    return [f"http://{HOST}:{web_port}", f"http://localhost:{web_port}"]


def demo_people() -> list[dict[str, str]]:
    """Whom the local sign-in page lists: the demo families, the providers, the operators (devtools/seed.py)."""
    people: list[dict[str, str]] = []
    for family in seed.FAMILIES:
        names = [child.full_name.split()[1] for child in family.children]
        people.append(
            {
                "role": "parent",
                "sub": family.guardian_sub,
                "municipality": family.municipality,
                "label": "Родитель: " + ", ".join(names),
                "note": family.guardian_sub,
            }
        )
    for provider in seed.PROVIDERS:
        people.append(
            {
                "role": "provider",
                "sub": provider.sub,
                "provider_id": provider.inn,
                "label": provider.name,
                "note": f"ИНН {provider.inn}",
            }
        )
    for claims, label in ((REGIONAL_OPERATOR, "Региональный оператор"), (MUNICIPAL_OPERATOR, "Муниципальный оператор")):
        people.append({**claims, "label": label})
    return people


def web_config(api_url: str) -> dict[str, Any]:
    """The Navigator's config.json in the local stage (in AWS, devtools/site.py writes it from the stack)."""
    region = json.loads(REGION.read_text(encoding="utf-8"))
    return {
        "stage": STAGE,
        "apiUrl": api_url,
        "municipalities": region["municipalities"],
        "people": demo_people(),
        "cognito": None,
    }


# `chalice local` with two changes. A listen backlog of LISTEN_BACKLOG instead of socketserver's 5: with the default,
# 50 clients connecting at once overflow the kernel's accept queue and some get "connection reset" (measured with
# tests/e2e/test_local_server.py). And each request goes through the Function URL handler, as in AWS, rather than
# chalice's API Gateway emulation (devtools/local_gateway.py). The server, its threads and the app are chalice's own.
LISTEN_BACKLOG = 128
_LAUNCHER = (
    "import sys; from chalice import local; local.ThreadedHTTPServer.request_queue_size = {backlog}; {prelude}; "
    "from devtools import local_gateway; local_gateway.install(); {gate}; "
    "from chalice.cli import main; sys.exit(main())"
)
GATE = "local_gateway.wait_for_go()"


def chalice_command(port: int, prelude: str = "pass", *, gated: bool = False) -> list[str]:
    """`chalice local --no-autoreload` on ``port`` of 127.0.0.1, run by this interpreter (the venv's).

    ``prelude``: Python statements run first in the server's process (tests force thread switches with it).
    ``gated``: the server imports the app, then waits for ``go`` on its standard input before it opens its port.
    """
    code = _LAUNCHER.format(backlog=LISTEN_BACKLOG, prelude=prelude, gate=GATE if gated else "pass")
    return [
        sys.executable,
        "-c",
        code,
        "local",
        "--no-autoreload",
        "--host",
        HOST,
        "--port",
        str(port),
        "--stage",
        STAGE,
    ]


# --- the run ---------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    options: Options
    signals: Signals
    started: list[subprocess.Popen[bytes]]
    s3: ThreadedMotoServer | None = None
    poller: local_streams.Running | None = None  # feeds the reports' counters from the tables' streams
    web: WebServer | None = None

    def start_s3(self) -> str:
        """moto's S3 server in a thread of this process, on 127.0.0.1; returns its endpoint. Data lives in memory."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per S3 request
        server = ThreadedMotoServer(ip_address=HOST, port=self.options.s3_port, verbose=False)
        with self.signals.deferred():
            server.start()
            self.s3 = server
        return f"http://{HOST}:{server.get_host_and_port()[1]}"

    def start_engine(self) -> ddb_local.LocalEngine:
        data = self.options.data_dir
        with self.signals.deferred():
            try:
                engine = ddb_local.start(port=self.options.ddb_port, data_dir=data / "ddb", log=data / "ddb.log")
            except ddb_local.LocalEngineError as failure:
                raise StartupError(f"{failure}; see {data / 'ddb.log'}") from None
            self.started.append(engine.process)
        return engine

    def start_api(self, environment: dict[str, str]) -> subprocess.Popen[bytes]:
        """Launches `chalice local`; it imports the app while the engine starts and the seed runs, and opens its port
        when ``open_api`` says so."""
        env = {**os.environ, **stage_environment(), **environment, "PYTHONUNBUFFERED": "1"}
        env["PFDO_CORS_ORIGINS"] = json.dumps(web_origins(self.options.web_port))
        with self.signals.deferred():
            api = subprocess.Popen(
                chalice_command(self.options.port, gated=True),
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                start_new_session=True,
            )
            self.started.append(api)
        return api

    def open_api(self, api: subprocess.Popen[bytes]) -> None:
        """The tables exist and the seed is in: the API may open its port."""
        assert api.stdin is not None
        try:
            api.stdin.write(f"{local_gateway.GO}\n".encode())
            api.stdin.flush()
        except BrokenPipeError:
            raise StartupError(f"chalice local exited with code {api.wait()} (its output is above)") from None

    def start_web(self, settings: Settings) -> str:
        """The Navigator's files and its config.json on WEB_PORT, in a thread of this process."""
        if not (DIST / "index.html").exists():
            raise StartupError(f"the Navigator is not built ({DIST} is missing): `make run` builds it, or `make web`")
        options = self.options
        api_url = f"http://{HOST}:{options.port}"
        with self.signals.deferred():
            self.web = WebServer(HOST, options.web_port, web_config(api_url), api_url).start()
        return f"http://{HOST}:{self.web.port}"

    def wait_for_api(self, api: subprocess.Popen[bytes]) -> None:
        url = f"http://{HOST}:{self.options.port}"
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not answers(f"{url}/children"):
            if api.poll() is not None:
                raise StartupError(f"chalice local exited with code {api.returncode} (its output is above)")
            if time.monotonic() > deadline:
                raise StartupError(f"chalice local did not answer on {url} within {READY_TIMEOUT_SECONDS:.0f}s")
            time.sleep(0.1)

    def serve(self) -> None:
        options = self.options
        require_free(options.port, "PORT")
        require_free(options.ddb_port, "DDB_PORT")
        if options.s3_port:
            require_free(options.s3_port, "S3_PORT")
        require_free(options.web_port, "WEB_PORT")
        options.data_dir.mkdir(parents=True, exist_ok=True)
        s3_endpoint = self.start_s3()
        aws = {
            **ddb_local.local_aws_environment(f"http://{HOST}:{options.ddb_port}"),
            "AWS_ENDPOINT_URL_S3": s3_endpoint,
        }
        os.environ.update(aws)  # before any client exists: boto3 and PynamoDB read the endpoints from here
        api = self.start_api(aws)
        engine = self.start_engine()
        say(f"DynamoDB Local {engine.endpoint} (pid {engine.process.pid}), data in {options.data_dir / 'ddb'}")
        settings = stage_settings()
        DocumentStore(settings.documents_bucket).ensure_bucket(origins=web_origins(options.web_port))
        say(f"S3 (moto, in memory) {s3_endpoint}, bucket {settings.documents_bucket}")
        created = create_tables(settings.table_prefix)
        if created:
            say(f"created tables: {', '.join(created)}")
        if enable_streams(settings.table_prefix):  # data from before the reports: they count from now on
            say("turned on the tables' streams: the reports count what is written from now on")
        ctx = Context.create(settings, SystemClock())
        self.poller = local_streams.start(ctx, say)
        parents = list(seed.PARENT_SUBS)
        if options.seed:
            parents = seed.seed_region(ctx, say)
        self.open_api(api)
        self.wait_for_api(api)
        say(f"chalice local (pid {api.pid})")
        navigator = self.start_web(settings)
        say(banner(settings, options, parents, period_id=str(ctx.today().year), navigator=navigator))
        while True:
            if api.poll() is not None:
                raise StartupError(f"chalice local exited with code {api.returncode}")
            if engine.process.poll() is not None:
                raise StartupError(f"DynamoDB Local exited with code {engine.process.returncode}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.web is not None:
            self.web.stop()
            self.web = None
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        for process in reversed(self.started):
            stop_group(process)
        if self.s3 is not None:
            self.s3.stop()
            self.s3 = None


def say(line: str) -> None:
    print(line, flush=True)


def banner(settings: Settings, options: Options, parents: list[str], period_id: str, navigator: str = "") -> str:
    url = f"http://{HOST}:{options.port}"
    tokens = [
        ("OPERATOR", REGIONAL_OPERATOR, "regional operator (municipality *)"),
        ("OPERATOR_ELIZOVO", MUNICIPAL_OPERATOR, "municipal operator of elizovo"),
        *[
            (f"PARENT{'' if n == 0 else n + 1}", {"role": "parent", "sub": sub}, "parent")
            for n, sub in enumerate(parents[:PARENTS_SHOWN])
        ],
        ("PROVIDER", PROVIDER, f"provider {PROVIDER['provider_id']}"),
    ]
    lines = [
        "",
        f"The Navigator (for parents): {navigator or '(not served)'}   sign in as anyone of the demo region",
        f"ПФДО local API: {url}",
        f"  stage {STAGE}, tables {settings.table_prefix}*, region time zone {settings.region_timezone}",
        f"  the API page: {url}/docs   the OpenAPI document: {url}/openapi.json",
        "",
        "Tokens (valid 12 h; POST /dev/token issues others). Paste into your shell:",
    ]
    for name, claims, who in tokens:
        lines.append(f"export {name}={issue_local_token(settings, claims)}  # {who}, sub {claims['sub']}")
    lines += ["", "Try:", *examples(url, parents, period_id)]
    lines += ["", f"{READY} {url}  (Ctrl-C stops chalice, DynamoDB Local, S3 and the Navigator)"]
    return "\n".join(lines)


def examples(url: str, parents: list[str], period_id: str) -> list[str]:
    auth = '-H "Authorization: Bearer ${}"'
    lines = [
        f"curl -s {url}/children {auth.format('PARENT')}",
        f"curl -s {url}/periods/{period_id} {auth.format('OPERATOR')}",
    ]
    children = certificate_store.of_guardian(parents[0]) if parents else []
    accounting = next((c for c in children if c.status is CertificateStatus.ACCOUNTING), None)
    funded = next((c for c in children if c.status is CertificateStatus.FUNDED), None)
    if funded is not None:
        lines.append(f"curl -s {url}/certificates/{funded.certificate_id}/ledger {auth.format('PARENT')}")
    if accounting is not None:
        lines.append(f"curl -s -X POST {url}/certificates/{accounting.certificate_id}/funding {auth.format('PARENT')}")
    lines.append(f"curl -s '{url}/programs?municipality=elizovo&limit=5'")
    lines.append(f"curl -s {url}/contracts {auth.format('PROVIDER')}")
    token_body = json.dumps({"role": "parent", "sub": "parent-new"})
    lines.append(f"curl -s -X POST {url}/dev/token -H 'Content-Type: application/json' -d '{token_body}'")
    return lines


def main() -> int:
    signals = Signals()
    signals.install()
    run: Run | None = None
    try:
        run = Run(Options.from_env(os.environ), signals, [])
        run.serve()
    except Stop as stop:
        say(f"\n{stop}: stopping chalice local, DynamoDB Local, S3 and the Navigator")
        code = 0
    except StartupError as failure:
        print(f"make run: {failure}", file=sys.stderr, flush=True)
        code = 1
    finally:
        signals.ignore()  # a second Ctrl-C must not cut the clean-up short
        if run is not None:
            run.stop()
    if run is not None and run.started:
        say("stopped" if code == 0 else "stopped after an error")
    return code


if __name__ == "__main__":
    sys.exit(main())
