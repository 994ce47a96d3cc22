"""The deployment package: the zip's size (and its largest parts), and the cold import time of the app.

    .venv/bin/python -m bench.package              # builds the prod package afresh (offline once dependencies are
                                                   # cached in .chalice/deployments), then measures
    .venv/bin/python -m bench.package --runs 25

The size is the Lambda zip's (python3.13 on arm64). This machine cannot run that zip, so the cold import is timed on
its twin (``devtools.package.build(..., twin=...)``: the same code, pins, trim and layout, for this machine's platform
and for the runtime's Python when the machine has that CPython (``python3.13`` on the PATH; a pyenv's counts), else
its own Python; the figures say which: Python's own import machinery and dataclasses differ between versions),
inside fresh interpreters run on the unzipped twin alone (``python -B -I -S``: no site-packages, the
folder first on ``sys.path`` as the Lambda runtime puts the zip, and no bytecode written, as /var/task is
read-only), with the stage's environment:

- **app**: ``import app`` — everything a cold Lambda loads before its first event: the route table and the jobs'
  entry points, the configuration, the Function URL adapter and the runtime context (views load with the first
  request that needs them, functions/edge/routes.py);
- **app, source only**: the same from the sources alone (ours and the dependencies', no bytecode, as Chalice packages
  them): every module compiled at each cold start — what ``devtools.package.precompile`` saves;
- **deps (as used)**: exactly the third-party modules that ``import app`` loads (read from a first probe), imported
  in the order the app loaded them: what the dependencies cost *as the app uses them*;
- **every route loaded**: the app, the HTTP edge and every view module — what a warm HTTP function holds, and
  the third-party modules those load: the same ratio for the whole API;
- **deps (listed)**: ``boto3, botocore, pynamodb.models, pydantic, pydantic_settings, jwt, chalice.app,
  aws_lambda_powertools`` — the runtime dependencies by name.

Runs alternate (app, deps, deps listed, app source only, app, ...) so a disturbance of the machine hits all alike;
the figures are medians. The ratio app / deps (as used) is the app's own import cost on top of its dependencies
(target <= 1.3x).
Nothing is asserted: this prints figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from devtools.package import Platform, build, dependencies, stage_environment, stage_runtime
from functions.edge.routes import ROUTES

STAGE = "prod"
PYTHON = sys.base_prefix + "/bin/python3"


def runtime_python(runtime: str) -> str | None:
    """The path of a CPython of the runtime's version (``runtime``: "3.13") on this machine, if it has one that runs:
    ``python3.13`` on the PATH, else one a pyenv has installed (its shim answers only for the versions it enables)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser() / "versions"
    candidates = [shutil.which(f"python{runtime}"), *map(str, sorted(pyenv.glob(f"{runtime}.*/bin/python{runtime}")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable, '%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip().endswith(runtime):
            return probe.stdout.split()[0]
    return None


OWN = ("app", "chalicelib", "functions")
LISTED = (
    "boto3",
    "botocore",
    "pynamodb.models",
    "pydantic",
    "pydantic_settings",
    "jwt",
    "chalice.app",
    "aws_lambda_powertools",
)

# Prints the modules that importing the given ones loaded from the package folder, in load order.
MODULES_PROBE = """
import importlib, json, sys
folder = sys.argv[1]
sys.path.insert(0, folder)
before = set(sys.modules)
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)
loaded = [name for name in sys.modules if name not in before]
print(json.dumps([n for n in loaded if (getattr(sys.modules[n], "__file__", None) or "").startswith(folder)]))
"""

# Times one import statement in this fresh interpreter.
TIMED_IMPORT = """
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
names = json.loads(sys.argv[2])
start = time.perf_counter()
for name in names:
    importlib.import_module(name)
print(time.perf_counter() - start)
"""


# The first invocation's own set-up, after a cold import: Powertools' logger and the Tracer (which loads the X-Ray SDK
# and patches botocore; enabled as in Lambda), made by functions/runtime.py on the first event.
FIRST_EVENT = """
import sys, time
sys.path.insert(0, sys.argv[1])
import app
from functions import runtime
start = time.perf_counter()
runtime.logger()
runtime.tracer()
print(time.perf_counter() - start)
"""
IN_LAMBDA = {
    "AWS_LAMBDA_FUNCTION_NAME": "pfdo-functions-prod-api_handler",
    "LAMBDA_TASK_ROOT": "/var/task",  # Powertools' Tracer is on only in Lambda
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}


def _python(code: str, *args: str, folder: Path, python: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [python, "-B", "-I", "-S", "-c", code, str(folder), *args],
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-central-1", **stage_environment(STAGE), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def zip_parts(code: Path, top: int = 10) -> dict[str, Any]:
    """Compressed and uncompressed bytes by top-level entry (a package with its .dist-info counted together)."""
    compressed: Counter[str] = Counter()
    uncompressed: Counter[str] = Counter()
    with zipfile.ZipFile(code) as archive:
        for info in archive.infolist():
            part = info.filename.split("/", 1)[0]
            if part.endswith(".dist-info"):
                part = part.split("-", 1)[0].lower().replace("pyjwt", "jwt").replace("python_", "")
            compressed[part] += info.compress_size
            uncompressed[part] += info.file_size
    return {
        "zip_bytes": code.stat().st_size,
        "unzipped_bytes": sum(uncompressed.values()),
        "largest": [
            {"part": part, "zipped_bytes": size, "unzipped_bytes": uncompressed[part]}
            for part, size in compressed.most_common(top)
        ],
    }


# What a warm HTTP function holds once every route has been asked for: the app, the HTTP edge and the module of every
# view the stage serves (routes load their modules on first use, see functions/edge/routes.py), read from the route
# table so that a new view module is counted the day it is added.
WHOLE_API = [
    "app",
    "functions.edge.http",
    *dict.fromkeys(f"functions.{route.view.split(':')[0]}" for route in ROUTES if not route.local_only),
]


def third_party_loaded(folder: Path, names: list[str], python: str) -> list[str]:
    modules: list[str] = json.loads(_python(MODULES_PROBE, json.dumps(names), folder=folder, python=python))
    return [name for name in modules if name.split(".", 1)[0] not in OWN]


def import_times(folder: Path, source_only: Path, runs: int, python: str) -> dict[str, Any]:
    as_used = third_party_loaded(folder, ["app"], python)
    api_used = third_party_loaded(folder, WHOLE_API, python)
    kinds = {
        "app": (["app"], folder),
        "deps_as_used": (as_used, folder),
        "whole_api": (WHOLE_API, folder),
        "whole_api_deps": (api_used, folder),
        "deps_listed": (list(LISTED), folder),
        "app_source_only": (["app"], source_only),
    }
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    samples["first_event_setup"] = []
    for _ in range(runs):
        for kind, (names, where) in kinds.items():
            samples[kind].append(float(_python(TIMED_IMPORT, json.dumps(names), folder=where, python=python)))
        samples["first_event_setup"].append(float(_python(FIRST_EVENT, folder=folder, python=python, env=IN_LAMBDA)))
    medians = {kind: statistics.median(values) for kind, values in samples.items()}
    return {
        "runs": runs,
        "median_seconds": medians,
        "min_seconds": {kind: min(values) for kind, values in samples.items()},
        "ratio_app_to_deps_as_used": medians["app"] / medians["deps_as_used"],
        "ratio_app_to_deps_listed": medians["app"] / medians["deps_listed"],
        "ratio_whole_api_to_its_deps": medians["whole_api"] / medians["whole_api_deps"],
        # The same ratios taken within each round (the kinds of one round run one after the other), then their
        # median: steadier than the ratio of medians when other work on the machine comes and goes.
        "paired_ratio_app_to_deps_as_used": _paired(samples["app"], samples["deps_as_used"]),
        "paired_ratio_whole_api_to_its_deps": _paired(samples["whole_api"], samples["whole_api_deps"]),
        "third_party_modules_loaded": len(as_used),
        "third_party_packages_loaded": sorted({name.split(".", 1)[0] for name in as_used}),
    }


def _add_sources(folder: Path, code: Path, twin: Platform) -> None:
    """The sources of what the zip ships as bytecode alone: the dependencies as installed (before compiling), and the
    runtime part of Chalice that ``chalice package`` adds (from this machine's Chalice, the same version)."""
    for path in dependencies(twin).iterdir():
        if path.name != ".complete":
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, folder / path.name)
    with zipfile.ZipFile(code) as archive:
        chalice = [n for n in archive.namelist() if n.startswith("chalice/") and n.endswith(".pyc")]
    installed = Path(importlib.util.find_spec("chalice").origin or "").parent  # type: ignore[union-attr]
    for name in chalice:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(installed / name.removeprefix("chalice/").removesuffix("c"), folder / name.removesuffix("c"))


def _paired(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def run(runs: int = 15) -> dict[str, Any]:
    runtime = stage_runtime(STAGE).removeprefix("python")
    python = runtime_python(runtime)
    twin = Platform.host(runtime) if python else Platform.host()
    with tempfile.TemporaryDirectory(prefix="pfdo-bench-package-") as work:
        artefacts = build(STAGE, Path(work) / "dist", run_lint=False, twin=twin)
        assert artefacts.host_code is not None
        folder, source_only = Path(work) / "unzipped", Path(work) / "source-only"
        with zipfile.ZipFile(artefacts.host_code) as archive:
            archive.extractall(folder)
            archive.extractall(source_only, [n for n in archive.namelist() if n.endswith(".py")])
        _add_sources(source_only, artefacts.host_code, twin)
        return {
            "stage": STAGE,
            "size": zip_parts(artefacts.code),
            "cold_import": {"python": twin.python, **import_times(folder, source_only, runs, python or PYTHON)},
        }


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MiB"


def render(result: dict[str, Any]) -> str:
    size, cold = result["size"], result["cold_import"]
    lines = [
        f"## Deployment package ({result['stage']})",
        "",
        f"deployment.zip: **{_mib(size['zip_bytes'])}** zipped (target <= 15 MiB), {_mib(size['unzipped_bytes'])} "
        "unzipped (Lambda limits: 50 MiB zipped for direct upload, 250 MiB unzipped)",
        "",
        "| part | zipped | unzipped |",
        "|---|---:|---:|",
        *(f"| {p['part']} | {_mib(p['zipped_bytes'])} | {_mib(p['unzipped_bytes'])} |" for p in size["largest"]),
        "",
        f"## Cold import on the zip's twin for this machine, Python {cold['python']} (median of {cold['runs']} "
        "fresh interpreters each, alternating)",
        "",
        "| import | median | min |",
        "|---|---:|---:|",
    ]
    labels = {
        "app": "`import app`",
        "deps_as_used": f"third-party modules the app loads ({cold['third_party_modules_loaded']})",
        "deps_listed": "listed runtime dependencies",
        "whole_api": "the app with every route loaded (a warm HTTP function)",
        "whole_api_deps": "third-party modules those load",
        "app_source_only": "`import app` from sources alone, no bytecode (as Chalice packages it)",
        "first_event_setup": "the first event's Powertools logger and Tracer (X-Ray SDK, botocore patched), after it",
    }
    for kind, label in labels.items():
        lines.append(
            f"| {label} | {cold['median_seconds'][kind] * 1000:.0f} ms | {cold['min_seconds'][kind] * 1000:.0f} ms |"
        )
    lines += [
        "",
        f"ratio app / deps as used: **{cold['ratio_app_to_deps_as_used']:.2f}x** (target <= 1.3x); "
        f"app / listed deps: {cold['ratio_app_to_deps_listed']:.2f}x; "
        f"every route loaded / its deps: **{cold['ratio_whole_api_to_its_deps']:.2f}x** (target <= 1.3x)",
        f"the same ratios round by round (median of {cold['runs']} paired ratios): app / deps as used "
        f"{cold['paired_ratio_app_to_deps_as_used']:.2f}x, every route loaded / its deps "
        f"{cold['paired_ratio_whole_api_to_its_deps']:.2f}x",
        f"third-party packages loaded by `import app`: {', '.join(cold['third_party_packages_loaded'])}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per kind (default 15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    result = run(args.runs)
    print(render(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
