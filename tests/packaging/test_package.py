"""The deployment package (``make package``: ``chalice package`` for our code, the pinned dependencies added for the
Lambda's python3.13 on arm64) carries everything the app imports (functions/ included, through vendor/functions),
has no /dev routes outside the local stage, and fits in 15 MiB.

This machine (Python 3.11, x86_64) cannot import a zip built for python3.13 on arm64, so the design's rule "a test
builds the deployment package, unzips it, and imports the app from the unzipped folder alone in a clean subprocess"
is kept in two halves that together say it: the Lambda zip holds only code for its platform (every native extension
is an aarch64 ELF for CPython 3.13 or the stable ABI, every wheel's tag fits, every pyc is 3.13's); and its twin,
assembled by the same code from the same pins and the same trim for this machine's Python and platform, is unzipped
and imported alone in a clean interpreter, and renders the statement PDF without Pillow.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from devtools.package import BOTOCORE_SERVICES, LAMBDA_LOCK, Artefacts, Platform, build, platform_of, stage_environment
from tests.conftest import ROOT

MAX_ZIP_BYTES = 15 * 1024 * 1024
EM_AARCH64 = 183  # ELF e_machine of arm64
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
import functions, chalicelib, pydantic, pynamodb, jwt
assert functions.__file__.startswith(sys.argv[1]), functions.__file__
assert pydantic.__file__.startswith(sys.argv[1]), pydantic.__file__
print(json.dumps(sorted(app.app.routes)))
"""
# Renders a statement from the unzipped folder alone: fpdf2 with fontTools as trimmed, and no Pillow at all.
RENDER = """
import json, sys
sys.path.insert(0, sys.argv[1])
try:
    import PIL
except ImportError:
    pass
else:
    raise SystemExit("PIL is importable: " + PIL.__file__)
from chalicelib.domain.contract import Contract, ContractStatus
from chalicelib.domain.ledger import EntryKind, LedgerEntry
from chalicelib.domain.statement import build
from chalicelib.services.statement_pdf import render
C = "1000000009"
info = Contract(
    contract_id="c-1", certificate_id=C, guardian_sub="parent-1", provider_id="4101000011", program_id="prg-1",
    program_title="Футбол: первые шаги № 1", period_id="2027", municipality="elizovo", status=ContractStatus.ACTIVE,
    price_per_month=150000, months=[f"2027-{m:02d}" for m in range(1, 13)], hold_amount=1800000,
    remaining_hold=0, funded=True, created_at="2027-01-01T00:00:00.000000Z", respond_by="2027-01-06T00:00:00.000000Z",
)
entries = [LedgerEntry(C, "credit#2027", EntryKind.CREDIT, "2027", 2400000, "2027-01-01T00:00:00.000000Z#000")]
for m in ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12") * 4:
    at = f"2027-{m}-02T01:00:00.000000Z#000"
    entries.append(LedgerEntry(C, f"charge#c-1#{m}", EntryKind.CHARGE, "2027", 150000, at, "c-1"))
pdf = render(build(C, "2027", entries, {"c-1": info}, {"4101000011": "ДЮСШ «Вулкан»"}, "Asia/Kamchatka"))
loaded = sorted(n for n in sys.modules if n.split(".")[0] in ("fpdf", "fontTools"))
print(json.dumps({"pdf": pdf[:5].decode(), "bytes": len(pdf), "outside": [
    n for n in loaded if not (getattr(sys.modules[n], "__file__", None) or sys.argv[1]).startswith(sys.argv[1])
]}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Artefacts:
    return build("prod", tmp_path_factory.mktemp("dist"), run_lint=False, twin=True)


@pytest.fixture(scope="module")
def target(built: Artefacts) -> Platform:
    return platform_of(json.loads(built.template.read_text()))


@pytest.fixture(scope="module")
def unzipped_twin(built: Artefacts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert built.host_code is not None
    folder = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(built.host_code) as archive:
        archive.extractall(folder)
    return folder


def clean_python(code: str, folder: Path, stage: str = "prod") -> subprocess.CompletedProcess[str]:
    # -I -S: no site-packages, no PYTHONPATH, no user site; only the standard library and the unzipped folder.
    return subprocess.run(
        [sys.base_prefix + "/bin/python3", "-B", "-I", "-S", "-c", code, str(folder)],
        cwd="/",
        env={"PATH": "/usr/bin:/bin", **stage_environment(stage)},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_functions_run_python_3_13_on_arm64(target: Platform) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert (config["lambda_runtime"], config["lambda_architecture"]) == ("python3.13", "arm64")
    assert (target.python, target.machine, target.glibc_minor) == ("3.13", "aarch64", 34)


def test_the_deployment_zip_is_at_most_15_mib(built: Artefacts) -> None:
    assert built.code.stat().st_size <= MAX_ZIP_BYTES, f"{built.code.stat().st_size / 2**20:.2f} MiB"


def _elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF" and data[4] == 2, "a 64-bit ELF"
    return int.from_bytes(data[18:20], "little")


def test_every_native_extension_in_the_lambda_zip_is_for_cpython_3_13_on_arm64(
    built: Artefacts, target: Platform
) -> None:
    suffix = re.compile(rf"\.(cpython-{target.abi.removeprefix('cp')}-aarch64-linux-gnu|abi3)\.so$")
    with zipfile.ZipFile(built.code) as archive:
        native = [n for n in archive.namelist() if re.search(r"\.so(\.\d+)*$", n)]
        assert native, "pydantic_core and cryptography have native extensions"
        for name in native:
            assert suffix.search(name) or ("/" in name and ".libs/" in name), name
            assert _elf_machine(archive.read(name)[:20]) == EM_AARCH64, name
        for wheel in [n for n in archive.namelist() if n.endswith(".dist-info/WHEEL")]:
            lines = archive.read(wheel).decode().splitlines()
            tags = [line.split(": ", 1)[1] for line in lines if line.startswith("Tag:")]
            assert any(_fits(tag, target) for tag in tags), (wheel, tags)


def _fits(tag: str, target: Platform) -> bool:
    python, abi, platform = tag.split("-")
    if (abi, platform) == ("none", "any"):
        return python.startswith(("py3", "py2.py3"))
    return platform.endswith(target.machine) and (abi in (target.abi, "abi3")) and python.startswith("cp3")


def test_the_zip_holds_exactly_the_pinned_packages_and_no_pillow(built: Artefacts) -> None:
    pinned = {
        line.split("==")[0].lower().replace("-", "_"): line.split("==")[1]
        for line in LAMBDA_LOCK.read_text().splitlines()
        if line and not line.startswith("#")
    }
    with zipfile.ZipFile(built.code) as archive:
        shipped = {
            match.group(1).lower(): match.group(2)
            for name in archive.namelist()
            if (match := re.match(r"^([^/]+)-([^-/]+)\.dist-info/METADATA$", name))
        }
        names = archive.namelist()
    assert shipped == pinned
    assert "pillow" not in shipped and not [n for n in names if n.startswith(("PIL/", "pillow"))]


def test_the_lambda_lock_pins_what_development_pins() -> None:
    """The zip and the tests run the same versions: every package of requirements-lambda.lock is pinned alike in
    requirements.lock, and every direct requirement is in the zip but Pillow."""

    def pins(path: Path) -> dict[str, str]:
        lines = [line for line in path.read_text().splitlines() if "==" in line and not line.startswith("#")]
        return {re.sub(r"[-_.]+", "-", n.split("[")[0]).lower(): v for n, v in (line.split("==") for line in lines)}

    development, lambda_ = pins(ROOT / "requirements.lock"), pins(LAMBDA_LOCK)
    assert {name: development.get(name) for name in lambda_} == lambda_
    assert set(pins(ROOT / "requirements.txt")) - set(lambda_) == set()


def test_the_zip_keeps_the_model_of_every_aws_service_the_code_calls(built: Artefacts) -> None:
    called = {"dynamodb", "xray"}  # PynamoDB; the X-Ray SDK under Powertools' Tracer (its sampling rules)
    for source in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "client" and node.args:
                argument = node.args[0]
                assert isinstance(argument, ast.Constant), f"{source}: a client of a service named at run time"
                called.add(str(argument.value))
    assert called <= set(BOTOCORE_SERVICES)
    with zipfile.ZipFile(built.code) as archive:
        models = {n.split("/")[2] for n in archive.namelist() if n.startswith("botocore/data/") and n.count("/") > 3}
    assert called <= models <= set(BOTOCORE_SERVICES)


def test_the_packaged_app_imports_from_the_unzipped_folder_alone(unzipped_twin: Path) -> None:
    assert (unzipped_twin / "functions" / "edge" / "http.py").is_file()
    result = clean_python(PROBE, unzipped_twin)
    assert result.returncode == 0, result.stderr
    routes = json.loads(result.stdout)
    assert "/certificates/{certificate_id}" in routes and "/periods/{period_id}/topup" in routes
    assert not [route for route in routes if route.startswith("/dev")]


def test_the_packaged_statement_renders_as_pdf_without_pillow(unzipped_twin: Path) -> None:
    result = clean_python(RENDER, unzipped_twin)
    assert result.returncode == 0, result.stderr
    rendered: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert rendered["pdf"] == "%PDF-" and rendered["bytes"] > 10_000
    assert rendered["outside"] == []


# An invocation as Lambda makes it: the Function URL's event into app.url_handler with a Lambda context, the tracer
# on (Lambda's LAMBDA_TASK_ROOT set), from the unzipped folder alone.
INVOKE = """
import json, sys
sys.path.insert(0, sys.argv[1])
event = json.loads(sys.argv[2])

class Context:
    function_name = "pfdo-functions-prod-api_handler"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:pfdo-functions-prod-api_handler"
    aws_request_id = "5f1c1e0c-1d39-4c55-9f5b-0d4a6f0a9c11"

    def get_remaining_time_in_millis(self):
        return 30000

import app
from functions import runtime
answer = app.url_handler(event, Context())
print(json.dumps({"status": answer["statusCode"], "traced": not runtime.tracer().disabled}))
"""


def test_an_invocation_runs_with_the_tracer_on_from_the_unzipped_folder_alone(unzipped_twin: Path) -> None:
    """Powertools' Tracer, enabled as in Lambda, starts from what the zip holds (its X-Ray SDK needs botocore's
    xray model) and the request is answered."""
    event = (ROOT / "tests" / "fixtures" / "function_url" / "get_certificate_no_token.json").read_text()
    result = subprocess.run(
        [sys.base_prefix + "/bin/python3", "-B", "-I", "-S", "-c", INVOKE, str(unzipped_twin), event],
        cwd="/",
        env={
            "PATH": "/usr/bin:/bin",
            **stage_environment("prod"),
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_LAMBDA_FUNCTION_NAME": "pfdo-functions-prod-api_handler",
            "LAMBDA_TASK_ROOT": str(unzipped_twin),
            # Outside Lambda there is no trace header: the SDK is told not to mind.
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "PFDO_COGNITO_USER_POOL_ID": "eu-central-1_AbC123xyz",
            "PFDO_COGNITO_CLIENT_IDS": '["3n4b5urk1ft4fl3mg5e62d9ado"]',
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"status": 401, "traced": True}


def test_the_twin_is_the_lambda_zip_for_another_platform(built: Artefacts, target: Platform) -> None:
    """Same files, but for the platform's names of native extensions and bytecode."""
    assert built.host_code is not None
    host = Platform.host()

    def files(code: Path, platform: Platform) -> set[str]:
        with zipfile.ZipFile(code) as archive:
            names = archive.namelist()
        pattern = re.compile(rf"\.(cpython-{platform.abi.removeprefix('cp')}(-{platform.machine}-linux-gnu)?)\.")
        return {
            pattern.sub(".<platform>.", name) for name in names if not re.search(r"\.libs/|\.dist-info/WHEEL$", name)
        }

    assert files(built.code, target) == files(built.host_code, host)
