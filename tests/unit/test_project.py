"""The project's conventions hold: an installable pyproject, pinned and declared tools, a licence, pre-commit hooks
that are the Makefile's own checks, deploy settings for every deployable stage, and a fast unit loop."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from tests.conftest import ROOT


def pins(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "==" in line and not line.startswith("#")]
    return {re.sub(r"[-_.]+", "-", n.split("[")[0]).lower(): v for n, v in (line.split("==") for line in lines)}


def test_pyproject_is_a_real_build_of_the_code_not_a_decoration() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    setuptools = project["tool"]["setuptools"]
    assert setuptools["py-modules"] == ["app"]
    assert set(setuptools["packages"]["find"]["include"]) == {"chalicelib", "chalicelib.*", "functions", "functions.*"}
    # One list of runtime dependencies: requirements.txt.
    assert project["project"]["dynamic"] == ["dependencies"]
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}


def test_tools_the_build_runs_are_declared_and_pinned_alike() -> None:
    declared, locked = pins(ROOT / "requirements-dev.txt"), pins(ROOT / "requirements.lock")
    assert "cfn-lint" in declared
    assert {name: locked.get(name) for name in declared} == declared


def test_the_licence_is_mit() -> None:
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")


def test_pre_commit_runs_the_makefiles_ruff_and_mypy_from_the_venv() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    assert hooks["ruff-check"]["entry"].startswith(".venv/bin/ruff check")
    assert hooks["ruff-format"]["entry"].startswith(".venv/bin/ruff format")
    assert hooks["mypy"]["entry"] == ".venv/bin/mypy" and hooks["mypy"]["pass_filenames"] is False


def test_samconfig_deploys_every_deployable_stage_from_what_make_package_writes() -> None:
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    stages = set(json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]) - {"local"}
    assert stages == {"dev", "prod"}
    assert set(samconfig) - {"version"} == stages
    for stage in stages:
        deploy = samconfig[stage]["deploy"]["parameters"]
        assert deploy["template_file"] == f"dist/{stage}/sam.json"
        assert deploy["stack_name"] == f"pfdo-{stage}"
        assert deploy["resolve_s3"] is True
        assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}


def test_make_unit_runs_the_unit_tests() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^unit: .*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe is not None and recipe.group(1).endswith("pytest -n 0 -q tests/unit")
