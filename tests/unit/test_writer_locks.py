"""Every CLI command that writes the lake holds the one lake lock while it writes, and is
refused while another run holds it. The writers themselves are replaced by fakes that look
at the lock file (no Spark here)."""
import json
import types

import pytest
from typer.testing import CliRunner

from flows import cli
from jobs import locks
from jobs.config import load_config
from jobs.errors import ConcurrentRunError
from jobs.ingest.result import IngestResult

pytestmark = pytest.mark.unit

PASSED = types.SimpleNamespace(passed=True, critical=(), evaluated=0, warnings=())
COMMANDS = {  # command line -> the writer it calls (module, attribute) and what the fake returns
    "ingest": (["ingest", "--run-id", "ingest-test"], "jobs.ingest.job", "run", IngestResult),
    "link": (["link", "--run-id", "link-test"], "jobs.link.job", "run", dict),
    "report": (["report"], "jobs.report", "render", lambda: "report.html"),
    "bench": (["bench", "--scale", "demo", "--peer-runs", "0"], "jobs.bench", "bench",
              lambda: {"session_seconds": 0.0, "full_build_seconds": 0.0, "full_build_rows_delivered": 0}),
    "validate": (["validate", "--stage", "ingest"], "jobs.quality.run", "check_stage", lambda: PASSED),
}


@pytest.fixture()
def lake(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "_spark", lambda cfg: None)
    return tmp_path / "lake"


def _fake_writer(lake, seen: list, returns):
    """Records who held the lake lock when the writer ran (FileNotFoundError: nobody)."""
    def writer(*args, **kwargs):
        seen.append(json.loads((lake / "_locks" / "nightly.lock").read_text())["run_id"])
        return returns()
    return writer


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_writer_commands_hold_the_lake_lock_while_writing(lake, monkeypatch, command):
    import importlib

    argv, module, attribute, returns = COMMANDS[command]
    seen: list[str] = []
    monkeypatch.setattr(importlib.import_module(module), attribute, _fake_writer(lake, seen, returns))
    result = CliRunner().invoke(cli.app, ["--env", "ci", "--lake", str(lake), *argv])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert len(seen) == 1 and seen[0].startswith(f"{command}-")
    assert not (lake / "_locks" / "nightly.lock").exists()  # released afterwards


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_writer_commands_are_refused_while_a_run_holds_the_lake(lake, monkeypatch, command):
    import importlib

    argv, module, attribute, returns = COMMANDS[command]
    seen: list[str] = []
    monkeypatch.setattr(importlib.import_module(module), attribute, _fake_writer(lake, seen, returns))
    with locks.lake_lock(load_config("ci", lake=str(lake)).paths, "nightly-run"):
        result = CliRunner().invoke(cli.app, ["--env", "ci", "--lake", str(lake), *argv])
    assert isinstance(result.exception, ConcurrentRunError) and "nightly-run" in str(result.exception)
    assert seen == []  # nothing written
