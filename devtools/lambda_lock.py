"""Prints requirements-lambda.lock (``make lock``): requirements.txt resolved with everything it needs for the Lambda
runtime's Python and architecture (.chalice/config.json), pinned, less what the zip leaves out on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.package import ROOT, Platform

# fpdf2 requires Pillow, but imports it only inside try/except for images: the statement has none (requirements.txt).
LEFT_OUT = {"pillow"}
HEADER = """\
# The Lambda zip's packages, pinned with everything they need, for {runtime} on {architecture} (devtools/package.py
# installs exactly these, --no-deps). `make lock` regenerates it from requirements.txt; Pillow, which fpdf2 requires but
# the statement never loads, is left out (requirements.txt)."""


def resolve(target: Platform) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="pfdo-lambda-lock-") as work:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        command += ["--target", work, "--requirement", str(ROOT / "requirements.txt"), *target.pip_arguments()]
        subprocess.run(command, check=True, timeout=1200)
        found = [path.name.removesuffix(".dist-info").rsplit("-", 1) for path in Path(work).glob("*.dist-info")]
    return sorted((f"{name}=={version}" for name, version in found if name.lower() not in LEFT_OUT), key=str.lower)


def main() -> int:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    runtime, architecture = config["lambda_runtime"], config["lambda_architecture"]
    print(HEADER.format(runtime=runtime, architecture=architecture))
    print("\n".join(resolve(Platform.of_lambda(runtime, architecture))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
