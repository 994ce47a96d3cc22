"""The deployment package carries everything the app imports (functions/ included, through vendor/functions) and
has no /dev routes outside the local stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
import functions, chalicelib, pydantic, pynamodb, jwt
assert functions.__file__.startswith(sys.argv[1]), functions.__file__
assert pydantic.__file__.startswith(sys.argv[1]), pydantic.__file__
print(json.dumps(sorted(app.app.routes)))
"""


@pytest.fixture(scope="module")
def unzipped_prod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-central-1"}
    subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "package", "--stage", "prod", str(out / "dist")],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    folder = out / "unzipped"
    with zipfile.ZipFile(out / "dist" / "deployment.zip") as archive:
        archive.extractall(folder)
    return folder


def test_the_packaged_app_imports_from_the_unzipped_folder_alone(unzipped_prod: Path) -> None:
    assert (unzipped_prod / "functions" / "edge" / "http.py").is_file()
    # -I -S: no site-packages, no PYTHONPATH, no user site; only the standard library and the unzipped folder.
    result = subprocess.run(
        [sys.base_prefix + "/bin/python3", "-I", "-S", "-c", PROBE, str(unzipped_prod)],
        cwd="/",
        env={"PFDO_STAGE": "prod", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    routes = json.loads(result.stdout)
    assert "/certificates/{certificate_id}" in routes and "/periods/{period_id}/topup" in routes
    assert not [route for route in routes if route.startswith("/dev")]
