"""`make package`: the deployable artefacts of one stage in dist/STAGE: sam.json (the template) and deployment.zip.

``STAGE`` chooses the stage (default ``prod``). The steps:

1. the functions the app defines in that stage, read by importing it in a clean interpreter with the stage's
   environment (the routes and functions are fixed at import);
2. the merge template (infra/template.py) from the models, infra/access.py and the stage's config;
3. ``chalice package --stage STAGE --merge-template ...``, its pip pointed at a local wheelhouse and at no index.
   Chalice's own cache (.chalice/deployments) is keyed by the app's code as well as the requirements, so without the
   wheelhouse every change of code would download the dependencies again; the wheelhouse (kept in
   .chalice/deployments/wheelhouse) is filled once per requirements.txt, and every build after that is offline;
4. Chalice's REST API removed (``infra.template.finalise``), the template checked (``infra.template.problems``) and
   linted with cfn-lint; then sam.json, deployment.zip and the merge template written to dist/STAGE;
5. the zip given compiled bytecode for every module (``precompile``). Lambda's /var/task is read-only, so without it
   every cold start compiles each module from source again (it halves the cold import; figures in bench/package.py);
6. the Navigator's static site built into dist/STAGE/web (web/build.mjs: esbuild from the pinned node_modules), for
   the site bucket; its config.json is written at deploy time from the stack's outputs (devtools/site.py).

Deploying is one command on a machine with AWS credentials (infra/README.md).
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import py_compile
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
WHEELHOUSE = ROOT / ".chalice" / "deployments" / "wheelhouse"  # ignored by git, beside Chalice's own cache
RUNTIME = "python3.11"  # Chalice packages for the Python that runs it; the template's runtime is checked against it
RUNTIME_GLIBC_MINOR = {"python3.11": 26}
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


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
    if result.returncode != 0:
        raise PackageError(f"{what} failed:\n{result.stdout}\n{result.stderr}")


def wheelhouse(runtime: str) -> Path:
    """Every wheel requirements.txt needs, for this machine and for the Lambda runtime, downloaded once (the only step
    that needs the network) and reused while requirements.txt stays the same."""
    requirements = ROOT / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes() + runtime.encode()).hexdigest()[:16]
    marker = WHEELHOUSE / f"complete-{key}"
    if marker.exists():
        return WHEELHOUSE
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    with (WHEELHOUSE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two builds at once (test workers) fill it once
        if not marker.exists():
            _fill(requirements, runtime, marker)
    return WHEELHOUSE


def _fill(requirements: Path, runtime: str, marker: Path) -> None:
    download = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    download += ["--requirement", str(requirements), "--dest", str(WHEELHOUSE)]
    _run(download, "downloading the dependencies")  # what Chalice's first pip call resolves on this machine
    # What Chalice then asks for where this machine's wheels do not run on Lambda: manylinux wheels up to the runtime's
    # glibc (Chalice's DependencyBuilder: 2.26 for python3.11, Amazon Linux 2).
    version = runtime.removeprefix("python")
    glibc_minor = RUNTIME_GLIBC_MINOR[runtime]
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(17, glibc_minor + 1)] + ["manylinux2014_x86_64"]
    lambda_wheels = ["--only-binary=:all:", "--implementation", "cp", "--python-version", version]
    lambda_wheels += ["--abi", "cp" + version.replace(".", "")]
    lambda_wheels += [arg for platform in platforms for arg in ("--platform", platform)]
    _run(download + lambda_wheels, "downloading the dependencies for Lambda")
    marker.write_text(requirements.read_text())


def _chalice_package(stage: str, merge: Path, out: Path, wheels: Path) -> None:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": _region(),
        # Chalice asks botocore for a region (never AWS itself): no instance-metadata probe while it does.
        "AWS_EC2_METADATA_DISABLED": "true",
        # Chalice's pip takes the dependencies from the wheelhouse, never from an index.
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
    }
    result = subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", stage, "--merge-template", str(merge), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if result.returncode != 0:
        raise PackageError(f"chalice package failed:\n{result.stdout}\n{result.stderr}")


def precompile(code: Path, runtime: str) -> int:
    """Rewrites the zip with ``__pycache__/*.pyc`` beside every module, compiled by this interpreter (it must be the
    runtime's Python version) as *unchecked-hash* pycs: valid whatever the files' timestamps, which the zip resets.
    Chalice's copies of the developer's own __pycache__ (timestamp pycs that never match) are dropped. Returns the
    number of modules compiled; a module that does not compile (code for another Python) keeps its source only."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        raise PackageError(f"bytecode for {runtime} needs that Python; this is {here}")
    compiled = 0
    with tempfile.TemporaryDirectory(prefix="pfdo-pyc-") as work, zipfile.ZipFile(code) as source:
        kept = [info for info in source.infolist() if "__pycache__/" not in info.filename]
        target = Path(work) / "deployment.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for info in kept:
                out.writestr(copy.copy(info), source.read(info))  # writestr rewrites the offsets of the info it gets
            for info in sorted((i for i in kept if i.filename.endswith(".py")), key=lambda i: i.filename):
                pyc = _bytecode(source.read(info), info.filename, Path(work))
                if pyc is None:
                    continue
                folder, _, name = info.filename.rpartition("/")
                entry = zipfile.ZipInfo(
                    f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")
                )
                entry.date_time, entry.external_attr = ZIP_EPOCH, 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(entry, pyc)
                compiled += 1
        shutil.move(target, code)
    return compiled


def _bytecode(source: bytes, name: str, work: Path) -> bytes | None:
    module, cached = work / "module.py", work / "module.pyc"
    module.write_bytes(source)
    try:
        # dfile: where Lambda has the file, for tracebacks.
        py_compile.compile(
            str(module),
            cfile=str(cached),
            dfile=f"/var/task/{name}",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        return None
    return cached.read_bytes()


def _runtime(template: dict[str, Any]) -> str:
    runtimes = {
        r["Properties"]["Runtime"] for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    }
    if len(runtimes) != 1:
        raise PackageError(f"the functions should share one runtime, not {sorted(runtimes)}")
    return runtimes.pop()


def build(stage: str, dist: Path, *, run_lint: bool = True) -> Artefacts:
    """Builds the artefacts of ``stage`` into ``dist/stage`` (replacing what was there)."""
    if stage == "local":
        raise PackageError("the local stage is not deployable: it has the /dev routes and local secrets")
    infra_stage = load_stage(stage, app_functions(stage))
    folder = dist / stage
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dist, prefix=f".build-{stage}-") as work:
        merge = Path(work) / "merge-template.json"
        merge.write_text(json.dumps(merge_template(infra_stage), indent=2, ensure_ascii=False) + "\n")
        _chalice_package(stage, merge, Path(work) / "chalice", wheelhouse(RUNTIME))
        final = finalise(json.loads((Path(work) / "chalice" / "sam.json").read_text()))
        wrong = problems(final, infra_stage)
        if wrong:
            raise PackageError("the template is wrong:\n" + "\n".join(wrong))
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "sam.json").write_text(json.dumps(final, indent=2, ensure_ascii=False) + "\n")
        shutil.move(Path(work) / "chalice" / "deployment.zip", folder / "deployment.zip")
        precompile(folder / "deployment.zip", _runtime(final))
        shutil.move(merge, folder / "merge-template.json")
    site = build_site(folder / "web")
    artefacts = Artefacts(folder, folder / "sam.json", folder / "deployment.zip", folder / "merge-template.json", site)
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
        f"deploy: sam deploy --template-file {artefacts.template.relative_to(ROOT)} --stack-name pfdo-{stage} "
        "--resolve-s3 --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND  (infra/README.md)"
    )
    print(f"then the site: .venv/bin/python -m devtools.site pfdo-{stage} {artefacts.site.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
