"""The run manifest's code version: `git describe` in a checkout; in the image (no git) the
commit stamped at build time (docker/job.Dockerfile, PATHWAYS_GIT_COMMIT)."""
from __future__ import annotations

import importlib.metadata
import subprocess

import pytest

from jobs import run_manifest as manifest

pytestmark = pytest.mark.unit

VERSION = importlib.metadata.version("coercion-pathways")


@pytest.fixture
def git(monkeypatch):
    """Replace `git describe`: a str is its output, an exception class is raised (no git)."""
    def install(outcome):
        def run(cmd, **kwargs):
            assert cmd[:2] == ["git", "describe"]
            if isinstance(outcome, type):
                raise outcome("git")
            return subprocess.CompletedProcess(cmd, 0 if outcome else 128, stdout=outcome, stderr="")
        monkeypatch.setattr(manifest.subprocess, "run", run)
        manifest.code_version.cache_clear()
    yield install
    manifest.code_version.cache_clear()


def test_without_git_the_build_stamp_is_the_code_version(git, monkeypatch):
    monkeypatch.setenv(manifest.GIT_COMMIT_ENV, "d95bc9b")
    git(FileNotFoundError)
    assert manifest.code_version() == f"{VERSION}+d95bc9b"
    git("")                                            # git present, but /app is no checkout
    assert manifest.code_version() == f"{VERSION}+d95bc9b"


def test_git_describe_wins_and_no_stamp_leaves_the_package_version(git, monkeypatch):
    monkeypatch.setenv(manifest.GIT_COMMIT_ENV, "d95bc9b")
    git("719f650-dirty\n")
    assert manifest.code_version() == f"{VERSION}+719f650-dirty"
    monkeypatch.setenv(manifest.GIT_COMMIT_ENV, "unknown")  # the Dockerfile's default: built without the arg
    git(FileNotFoundError)
    assert manifest.code_version() == VERSION
    monkeypatch.delenv(manifest.GIT_COMMIT_ENV)
    assert (manifest.code_version.cache_clear(), manifest.code_version())[1] == VERSION
