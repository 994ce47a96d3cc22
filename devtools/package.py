"""`make package`: the deployable artefacts of one stage in dist/STAGE: sam.json (the template) and deployment.zip.

``STAGE`` chooses the stage (default ``prod``). The functions run on the runtime and architecture the stage's
``.chalice/config.json`` names (``lambda_runtime`` python3.13, ``lambda_architecture`` arm64), which need not be this
machine's (Python 3.11 on x86_64): Chalice vendors dependencies for the Python that runs it, so the packager assembles
them itself. The steps:

1. the functions the app defines in that stage, read by importing it in a clean interpreter with the stage's
   environment (the routes and functions are fixed at import);
2. the merge template (infra/template.py) from the models, infra/access.py and the stage's config;
3. ``chalice package --stage STAGE --merge-template ...`` run on a copy of the project whose requirements.txt is
   empty: Chalice writes the template and a zip of our code alone (app.py, chalicelib/, vendor/functions);
4. the dependencies: every wheel ``requirements-lambda.lock`` pins, for the runtime's CPython and platform
   (``manylinux_2_17..2_34_aarch64`` for python3.13 on arm64: Amazon Linux 2023), downloaded once into
   .chalice/deployments/wheelhouse/ (the only step that needs the network), installed with ``--no-deps`` into a
   folder and trimmed (``trim``: no Pillow, no botocore models of services the code does not call, no compiled
   speed-ups fontTools has in pure Python, no type stubs, caches or install records);
5. the zip assembled from both, deterministic, with bytecode for the runtime's Python beside every module
   (``precompile``; Lambda's /var/task is read-only, so without it every cold start compiles each module from source
   again; it halves the cold import, figures in bench/package.py). The bytecode of CPython 3.13 is made by CPython
   3.13 itself, the WebAssembly build in the npm package ``pyodide`` (package.json; bytecode does not depend on the
   machine, only on the Python version), since this machine has no 3.13;
6. Chalice's REST API removed (``infra.template.finalise``), the template checked (``infra.template.problems``) and
   linted with cfn-lint; then sam.json, deployment.zip and the merge template written to dist/STAGE.

``build(..., twin=True)`` also writes dist/STAGE.host.zip: the same code and the same pinned dependencies, trimmed
the same way, for this machine's Python and platform, so that tests can import and run what the Lambda zip holds
(tests/packaging).

Deploying is one command on a machine with AWS credentials (infra/README.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.template import finalise, load_stage, merge_template, problems

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # Chalice's fixed timestamp: the same sources give the same zip

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION = "eu-central-1"
BIN = Path(sys.executable).parent
DEPLOYMENTS = ROOT / ".chalice" / "deployments"  # ignored by git, beside Chalice's own cache
WHEELHOUSE = DEPLOYMENTS / "wheelhouse"
LAMBDA_LOCK = ROOT / "requirements-lambda.lock"
PYC_COMPILER = ROOT / "devtools" / "pyc.mjs"
# Our own code, whose source stays in the zip (the dependencies are sourceless bytecode: devtools/bytecode.py).
KEEP_SOURCE = ("app.py", "chalicelib", "functions")
# Lambda's architectures as wheel tags name them, and the glibc of each Python runtime's Amazon Linux.
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
RUNTIME_GLIBC_MINOR = {"python3.11": 26, "python3.12": 34, "python3.13": 34}
# The AWS services the code calls through botocore (boto3.client / PynamoDB): the only models the zip keeps.
# tests/packaging checks every client the code creates is among them. sts is botocore's own: its credential providers
# call it to assume a role (a console run with a profile; in Lambda the role's credentials are in the environment).
# xray is the X-Ray SDK's (under Powertools' Tracer): it makes a client for its sampling rules when the tracer starts.
BOTOCORE_SERVICES = ("dynamodb", "events", "lambda", "s3", "scheduler", "sts", "xray")
FUNCTIONS_PROBE = """
import json, app
chalice_app = app.app
names = [f.name for f in chalice_app.pure_lambda_functions] + [e.name for e in chalice_app.event_sources]
if chalice_app.routes:
    names.insert(0, "api_handler")
print(json.dumps(names))
"""


class PackageError(RuntimeError):
    """The package could not be built, or what was built is wrong."""


@dataclass(frozen=True)
class Artefacts:
    folder: Path
    template: Path
    code: Path
    merge_template: Path
    site: Path
    # The same zip for this machine's Python and platform (``build(..., twin=True)``), else None.
    host_code: Path | None = None


@dataclass(frozen=True)
class Platform:
    """Where a zip's code runs: a CPython version and a machine, and the glibc its manylinux wheels may need."""

    python: str  # "3.13"
    machine: str  # "aarch64"
    glibc_minor: int

    @classmethod
    def of_lambda(cls, runtime: str, architecture: str) -> Platform:
        if runtime not in RUNTIME_GLIBC_MINOR or architecture not in MACHINES:
            raise PackageError(f"no packaging for {runtime} on {architecture}")
        return cls(runtime.removeprefix("python"), MACHINES[architecture], RUNTIME_GLIBC_MINOR[runtime])

    @classmethod
    def host(cls, python: str | None = None) -> Platform:
        """This machine; by default with the Python running this code, or with another CPython it has (``python``,
        e.g. the runtime's "3.13": bench/package.py times the twin on the runtime's Python when the machine has it)."""
        libc, version = platform.libc_ver()
        minor = int(version.split(".")[1]) if libc == "glibc" and version else 17
        return cls(python or f"{sys.version_info.major}.{sys.version_info.minor}", platform.machine(), minor)

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    @property
    def cache_tag(self) -> str:
        return f"cpython-{self.abi.removeprefix('cp')}"

    def pip_arguments(self) -> list[str]:
        """pip's flags for wheels of this platform only: binary, this CPython, manylinux up to its glibc."""
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(17, self.glibc_minor + 1)]
        tags.append(f"manylinux2014_{self.machine}")
        arguments = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python]
        arguments += ["--abi", self.abi, "--abi", "abi3", "--abi", "none"]
        return arguments + [argument for tag in tags for argument in ("--platform", tag)]

    def __str__(self) -> str:
        return f"{self.abi}-{self.machine}"


def build_site(target: Path) -> Path:
    """The Navigator's files (index.html, hashed assets) in ``target``, bundled by esbuild."""
    node = shutil.which("node")
    if node is None:
        raise PackageError("node is missing: the Navigator is built with Node.js (make setup installs its packages)")
    _run([node, str(ROOT / "web" / "build.mjs"), str(target)], "building the Navigator (web/build.mjs)")
    if not (target / "index.html").exists():
        raise PackageError(f"the Navigator's build wrote no {target / 'index.html'}")
    return target


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


def stage_environment(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][stage]["environment_variables"])


def stage_runtime(stage: str) -> str:
    """The Lambda runtime the stage's functions run on ("python3.13"): the stage's own, else the project's."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return str(config["stages"][stage].get("lambda_runtime", config["lambda_runtime"]))


def app_functions(stage: str) -> tuple[str, ...]:
    """The Chalice function names the app defines in ``stage`` (``api_handler`` serves the routes)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **stage_environment(stage)}
    found = subprocess.run(
        [sys.executable, "-c", FUNCTIONS_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if found.returncode != 0:
        raise PackageError(f"the app does not import in stage {stage}:\n{found.stderr}")
    return tuple(json.loads(found.stdout))


def lint(template: Path, region: str) -> list[str]:
    """cfn-lint's findings (errors, warnings and informational), one per line; empty when clean."""
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--include-checks", "I", "--regions", region, "--", str(template)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode & 1 or result.returncode > 15:  # 2, 4, 8: errors, warnings, informational; others: a crash
        raise PackageError(f"cfn-lint failed: {result.stderr or result.stdout}")
    return [line for line in result.stdout.splitlines() if line.strip()]


def _run(command: list[str], what: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200, check=False)
    if result.returncode != 0:
        # The end of what it said: pyodide prints its whole minified source before a Python traceback.
        raise PackageError(f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


# --- the dependencies ------------------------------------------------------------------------------------------------


def _lock_key(target: Platform) -> str:
    kept = ",".join(BOTOCORE_SERVICES)  # the trim keeps these models: a change makes the folder again
    return hashlib.sha256(LAMBDA_LOCK.read_bytes() + f"{target}|{TRIM_VERSION}|{kept}".encode()).hexdigest()[:16]


def dependencies(target: Platform) -> Path:
    """The pinned dependencies installed and trimmed for ``target``: made once per lock and platform (the download
    only the first time), then reused; offline after that."""
    folder = DEPLOYMENTS / f"site-{target}-{_lock_key(target)}"
    if (folder / ".complete").exists():
        return folder
    DEPLOYMENTS.mkdir(parents=True, exist_ok=True)
    with (DEPLOYMENTS / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two builds at once (test workers) make it once
        if not (folder / ".complete").exists():
            _install(target, folder)
    return folder


def _install(target: Platform, folder: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels = WHEELHOUSE / str(target)
    marker = wheels / f"complete-{_lock_key(target)}"
    if not marker.exists():
        wheels.mkdir(parents=True, exist_ok=True)
        download = [*pip, "download", "--no-deps", "--dest", str(wheels), "--requirement", str(LAMBDA_LOCK)]
        _run(download + target.pip_arguments(), f"downloading the wheels for {target}")
        marker.touch()
    shutil.rmtree(folder, ignore_errors=True)
    work = folder.with_name(folder.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    install = [*pip, "install", "--no-deps", "--no-compile", "--no-index", "--find-links", str(wheels)]
    install += ["--target", str(work), "--requirement", str(LAMBDA_LOCK), *target.pip_arguments()]
    _run(install, f"installing the dependencies for {target}")
    trim(work)
    (work / ".complete").touch()
    work.rename(folder)


# Bumped whenever ``trim`` changes, so the cached folders are made again.
TRIM_VERSION = "3"
# Never loaded by the functions: scripts, manual pages, type stubs, caches, C sources of compiled extensions.
NEVER_LOADED = ("bin", "share", "**/__pycache__", "**/*.pyi", "**/*.c", "**/*.pyx", "**/*.pxd")
# Install records that nothing reads at run time (METADATA and licences stay).
DIST_INFO_NOISE = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
# fontTools' Cython speed-ups: each has its pure-Python module beside it, which fontTools uses when the compiled one is
# missing (fpdf2 subsets one TrueType font; none of these is on its path).
FONTTOOLS_COMPILED = ("cu2qu/cu2qu", "qu2cu/qu2cu", "misc/bezierTools", "feaLib/lexer", "varLib/iup", "pens/momentsPen")
# fontTools' tools for font designers (UFO sources, feature compilers, merging, curve conversion, font building),
# which subsetting a TrueType font never imports.
FONTTOOLS_UNUSED = (
    "afmLib.py", "cu2qu", "diff.py", "fontBuilder.py", "merge", "mtiLib", "qu2cu", "t1Lib", "tfmLib.py", "ufoLib",
    "voltLib",
)  # fmt: skip
# Powertools' REST/GraphQL event handler (with a Swagger UI bundle): the functions use Logger, Metrics and Tracer only.
POWERTOOLS_UNUSED = ("event_handler",)


def trim(site: Path) -> None:
    """What the functions never load, out of an installed dependency folder (sizes in bench/package.py)."""
    for pattern in NEVER_LOADED:
        for path in site.glob(pattern):
            _remove(path)
    for record in DIST_INFO_NOISE:
        for path in site.glob(f"*.dist-info/{record}"):
            path.unlink()
    _keep_botocore_models(site / "botocore" / "data")
    for module in FONTTOOLS_COMPILED:
        for compiled in (site / "fontTools").glob(f"{module}.*.so"):
            if not compiled.with_name(compiled.name.split(".", 1)[0] + ".py").is_file():
                raise PackageError(f"{compiled.name} has no pure-Python module beside it")
            compiled.unlink()
    for unused in FONTTOOLS_UNUSED:
        _remove(site / "fontTools" / unused)
    for unused in POWERTOOLS_UNUSED:
        _remove(site / "aws_lambda_powertools" / unused)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _keep_botocore_models(models: Path) -> None:
    """Only the services the code calls, each at its newest API version (the one botocore loads); the shared files
    (endpoints, partitions, retry and default configuration) stay."""
    for service in sorted(models.iterdir()) if models.is_dir() else []:
        if not service.is_dir():
            continue
        if service.name not in BOTOCORE_SERVICES:
            shutil.rmtree(service)
            continue
        versions = sorted(version for version in service.iterdir() if version.is_dir())
        for old in versions[:-1]:
            shutil.rmtree(old)


# --- the zip ---------------------------------------------------------------------------------------------------------


def _chalice_package(stage: str, merge: Path, out: Path, work: Path) -> None:
    """Chalice's template and the zip of our code alone: run on a copy of the project whose requirements are empty."""
    project = work / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    project.mkdir()
    shutil.copy2(ROOT / "app.py", project / "app.py")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=ignore)
    # vendor/functions is a link to ../functions: the copy holds the files themselves.
    shutil.copytree(ROOT / "vendor", project / "vendor", ignore=ignore, symlinks=False)
    (project / ".chalice").mkdir()
    shutil.copy2(ROOT / ".chalice" / "config.json", project / ".chalice" / "config.json")
    (project / "requirements.txt").write_text("# the dependencies are added by devtools/package.py\n")
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": _region(),
        # Chalice asks botocore for a region (never AWS itself): no instance-metadata probe while it does.
        "AWS_EC2_METADATA_DISABLED": "true",
        "PIP_NO_INDEX": "1",
    }
    command = [str(BIN / "chalice"), "package", "--stage", stage, "--merge-template", str(merge), str(out)]
    _run(command, "chalice package", cwd=project, env=env)


def assemble(code: Path, site: Path, target: Platform, out: Path) -> dict[str, Any]:
    """The deployment zip: Chalice's zip of our code, the dependencies of ``site``, and bytecode for ``target``'s
    Python (``precompile``); deterministic (sorted, fixed timestamps). Returns what the compiler reports."""
    with tempfile.TemporaryDirectory(prefix="pfdo-zip-") as work:
        folder = Path(work) / "zip"
        shutil.copytree(site, folder, ignore=shutil.ignore_patterns(".complete"))
        with zipfile.ZipFile(code) as ours:
            for info in ours.infolist():
                if "__pycache__/" not in info.filename:  # Chalice copies the developer's own stale caches
                    ours.extract(info, folder)
        compiled = precompile(folder, target)
        _write_zip(folder, out)
    return compiled


def _write_zip(folder: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(folder).as_posix(), ZIP_EPOCH)
            entry.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes(), compresslevel=9)


def precompile(folder: Path, target: Platform) -> dict[str, Any]:
    """Bytecode for ``target``'s Python beside our modules, in place of the dependencies' sources
    (devtools/bytecode.py says how and why). This machine's Python compiles for itself; CPython 3.13 for Lambda is
    pyodide's (devtools/pyc.mjs). Returns what the compiler reports (version, cache tag, magic number, counts)."""
    keep = json.dumps(list(KEEP_SOURCE))
    if target.python == f"{sys.version_info.major}.{sys.version_info.minor}":
        command = [sys.executable, str(ROOT / "devtools" / "bytecode.py"), str(folder), keep]
    else:
        command = ["node", str(PYC_COMPILER), str(folder), keep]
    result: dict[str, Any] = json.loads(_run(command, f"compiling bytecode for {target}").strip().splitlines()[-1])
    if result["cache_tag"] != target.cache_tag:
        raise PackageError(f"the bytecode is for {result['version']}, not for the runtime's Python {target.python}")
    return result


def platform_of(template: dict[str, Any]) -> Platform:
    """The one runtime and architecture every function of the template runs on."""
    functions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    kinds = {(f["Runtime"], tuple(f.get("Architectures", ["x86_64"]))) for f in functions}
    if len(kinds) != 1:
        raise PackageError(f"the functions should share one runtime and architecture, not {sorted(kinds)}")
    ((runtime, architectures),) = kinds
    return Platform.of_lambda(runtime, architectures[0])


def build(stage: str, dist: Path, *, run_lint: bool = True, twin: bool | Platform = False) -> Artefacts:
    """Builds the artefacts of ``stage`` into ``dist/stage`` (replacing what was there); with ``twin``, also
    ``dist/stage.host.zip``, the same zip for this machine's Python and platform (for tests), or for the Platform
    ``twin`` names (another CPython of this machine's)."""
    if stage == "local":
        raise PackageError("the local stage is not deployable: it has the /dev routes and local secrets")
    infra_stage = load_stage(stage, app_functions(stage))
    folder = dist / stage
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dist, prefix=f".build-{stage}-") as work:
        merge = Path(work) / "merge-template.json"
        merge.write_text(json.dumps(merge_template(infra_stage), indent=2, ensure_ascii=False) + "\n")
        _chalice_package(stage, merge, Path(work) / "chalice", Path(work))
        final = finalise(json.loads((Path(work) / "chalice" / "sam.json").read_text()))
        wrong = problems(final, infra_stage)
        if wrong:
            raise PackageError("the template is wrong:\n" + "\n".join(wrong))
        target = platform_of(final)
        ours = Path(work) / "chalice" / "deployment.zip"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "sam.json").write_text(json.dumps(final, indent=2, ensure_ascii=False) + "\n")
        assemble(ours, dependencies(target), target, folder / "deployment.zip")
        host_code = None
        if twin:
            host = twin if isinstance(twin, Platform) else Platform.host()
            host_code = dist / f"{stage}.host.zip"
            assemble(ours, dependencies(host), host, host_code)
        shutil.move(merge, folder / "merge-template.json")
    site = build_site(folder / "web")
    artefacts = Artefacts(
        folder, folder / "sam.json", folder / "deployment.zip", folder / "merge-template.json", site, host_code
    )
    if run_lint:
        findings = lint(artefacts.template, _region())
        if findings:
            raise PackageError("cfn-lint:\n" + "\n".join(findings))
    return artefacts


def main() -> int:
    stage = os.environ.get("STAGE", "prod")
    try:
        artefacts = build(stage, ROOT / "dist")
    except PackageError as failure:
        print(f"make package: {failure}", file=sys.stderr)
        return 1
    template = json.loads(artefacts.template.read_text())
    functions = sorted(r for r, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function")
    print(f"stage {stage}: {len(template['Resources'])} resources, functions {', '.join(functions)}; cfn-lint clean")
    for path in (artefacts.template, artefacts.code, artefacts.merge_template):
        print(f"  {path.relative_to(ROOT)}  {path.stat().st_size / 1024 / 1024:.2f} MiB")
    files = [p for p in artefacts.site.rglob("*") if p.is_file()]
    print(f"  {artefacts.site.relative_to(ROOT)}/  the Navigator: {len(files)} files")
    print(
        f"deploy: sam deploy --config-env {stage}  (samconfig.toml: {artefacts.template.relative_to(ROOT)}, stack "
        f"pfdo-{stage}; infra/README.md)"
    )
    print(f"then the site: .venv/bin/python -m devtools.site pfdo-{stage} {artefacts.site.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
