"""Configuration fails closed: no stage means no start (never a default that serves /dev/*, /docs or a settable clock),
and outside the local stage the pagination cursors are never signed with a key anyone can read in this repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.platform.config import MissingSetting, Settings

ROOT = Path(__file__).resolve().parent.parent.parent


def _without_pfdo(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PFDO_"):
            monkeypatch.delenv(name)


def test_settings_without_a_stage_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_pfdo(monkeypatch)
    with pytest.raises(ValidationError, match="stage"):
        Settings()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_deployed_stage_without_its_own_cursor_secret_signs_no_cursor(
    stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jobs need no cursor key and start without one; whatever asks for the key gets no default."""
    _without_pfdo(monkeypatch)
    settings = Settings(stage=stage)
    assert settings.cursor_secret is None
    with pytest.raises(MissingSetting, match="PFDO_CURSOR_SECRET"):
        _ = settings.cursor_key
    assert Settings(stage=stage, cursor_secret="x" * 40).cursor_key == "x" * 40
    with pytest.raises(ValidationError, match="cursor_secret"):
        Settings(stage=stage, cursor_secret="")


def test_the_local_stage_alone_has_a_default_cursor_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_pfdo(monkeypatch)
    assert Settings(stage="local").cursor_key


def test_the_app_refuses_to_start_without_a_stage() -> None:
    """What Lambda's init does: ``import app`` with no PFDO_STAGE fails, so nothing is served at all."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PFDO_")}
    done = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "stage" in done.stderr
