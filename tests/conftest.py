"""Shared fixtures.  The facts we test against are typed into the tests themselves."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (a failure is reproducible, CI does not
# flake) and are never timed (this machine's speed varies; benchmarks live in bench/).
settings.register_profile("grader", derandomize=True, deadline=None)
settings.load_profile("grader")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"


def under_ci() -> bool:
    """Whether CI is set to a true value (``true``, ``1``, ``yes``, ``on``, any case): there,
    tests that need TeX or a browser must run, never skip."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes", "on"}


def tex_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


@pytest.fixture
def require_tex() -> None:
    """Skip without TeX on a user's machine; under CI=true TeX must be there."""
    if not tex_available():
        if under_ci():
            pytest.fail("TeX is not installed, and under CI=true TeX tests must run")
        pytest.skip("TeX (latexmk, pdflatex) is not installed")


@pytest.fixture
def canonical_yaml() -> Path:
    return SAMPLES / "canonical.yaml"
