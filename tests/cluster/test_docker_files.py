"""Static checks of docker/: no engine runs here, so check what can be checked without one."""
from __future__ import annotations

import re
import shlex

import pytest
import yaml

from jobs.config import PROJECT_ROOT

pytestmark = pytest.mark.unit

DOCKER = PROJECT_ROOT / "docker"
SERVICES = {"postgres", "prefect-server", "spark-master", "spark-worker-1", "spark-worker-2", "pathways-flow"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    text = (DOCKER / "job.Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _env(service: dict) -> dict:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_compose_has_every_service_each_with_a_health_check(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services and spec["condition"] == "service_healthy", (name, dep)


def test_compose_holds_no_secret_values(compose):
    for name, service in compose["services"].items():
        for key, value in _env(service).items():
            if SECRET_NAME.search(key):
                assert value == "" or value.startswith("${"), f"{name}.{key} must come from the environment"
    assert "${PREFECT_DB_PASSWORD:?" in (DOCKER / "compose.yml").read_text()
    assert (DOCKER / ".gitignore").read_text().split() == [".env"]
    assert "PREFECT_DB_PASSWORD=" in (DOCKER / "env.example").read_text()


def test_driver_and_workers_share_image_lake_and_master(compose):
    services = compose["services"]
    flow, master = services["pathways-flow"], services["spark-master"]
    spark_side = [services[n] for n in ("spark-master", "spark-worker-1", "spark-worker-2", "pathways-flow")]
    assert len({s["image"] for s in spark_side}) == 1
    assert {s["build"]["dockerfile"] for s in spark_side} == {"docker/job.Dockerfile"}
    env = _env(flow)
    assert env["PATHWAYS_ENV"] == "cluster" and env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert env["PATHWAYS_SPARK_MASTER"] == "spark://spark-master:7077"
    assert master["command"][1] == "org.apache.spark.deploy.master.Master"
    assert master["command"][master["command"].index("--port") + 1] == "7077"
    lake_mounts = {n: [v for v in services[n]["volumes"] if v.startswith("lake:")]
                   for n in ("spark-worker-1", "spark-worker-2", "pathways-flow")}
    assert all(m == [f"lake:{env['PATHWAYS_LAKE']}"] for m in lake_mounts.values()), lake_mounts
    for n in ("spark-worker-1", "spark-worker-2"):
        cmd = services[n]["command"]
        assert cmd[1:3] == ["org.apache.spark.deploy.worker.Worker", "spark://spark-master:7077"]
        assert cmd[cmd.index("--host") + 1] == services[n]["hostname"] == n


def test_dockerfile_installs_dependencies_before_code(dockerfile):
    assert dockerfile[0].startswith("ARG PYTHON_IMAGE=python:3.11-")
    assert any("openjdk-17-jre-headless" in line for line in dockerfile)
    deps = next(i for i, ln in enumerate(dockerfile) if "--require-hashes -r /tmp/requirements.lock" in ln)
    jars = next(i for i, ln in enumerate(dockerfile) if "python -m jobs.jars fetch" in ln)
    first_code = next(i for i, ln in enumerate(dockerfile) if ln.startswith("COPY") and "jobs/ jobs/" in ln)
    assert deps < jars < first_code


def test_dockerfile_copies_one_directory_per_copy_and_every_source_is_in_the_context(dockerfile):
    ignore = (DOCKER / "job.Dockerfile.dockerignore").read_text().split()
    allowed = {p.lstrip("!").rstrip("/") for p in ignore if p.startswith("!")}
    for line in (ln for ln in dockerfile if ln.startswith("COPY")):
        words = [w for w in shlex.split(line)[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in shlex.split(line)):
            continue
        sources = words[:-1]
        dirs = [s for s in sources if s.endswith("/")]
        assert len(dirs) <= 1 and not (dirs and len(sources) > 1), f"one COPY per directory: {line}"
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), f"{source} (in `{line}`) does not exist"
            assert source.split("/")[0].rstrip("/") in allowed, f"{source} is excluded by the .dockerignore"


def test_flow_service_runs_an_existing_cli_command(compose):
    """`pathways serve` must exist in the CLI the image installs (flows/cli.py)."""
    import typer.main

    from flows.cli import app

    command = compose["services"]["pathways-flow"]["command"]
    assert command[0] == "pathways"
    assert command[1] in typer.main.get_command(app).commands
    env = compose["services"]["pathways-flow"]["environment"]
    assert "PREFECT_LOGGING_EXTRA_LOGGERS" not in env  # flows/logs.py attaches Prefect's handler itself
    assert env["PREFECT_RUNNER_SERVER_ENABLE"] == "true"


def test_flow_service_mounts_the_reference_data_where_the_config_looks(compose):
    """paths.reference lies outside the repository (not in the image): the driver gets it mounted
    at the path conf/ resolves to from the image's /app, and the default host folder exists."""
    import posixpath

    from jobs.config import load_config

    reference = load_config("cluster").paths.reference
    in_image = posixpath.normpath(posixpath.join("/app", reference))
    mounts = [v for v in compose["services"]["pathways-flow"]["volumes"] if not v.startswith("lake:")]
    assert len(mounts) == 1, mounts
    host, target, mode = mounts[0].rsplit(":", 2)
    assert (target, mode) == (in_image, "ro")
    default = re.fullmatch(r"\$\{PATHWAYS_REFERENCE_DIR:-(.+)\}", host)
    assert default, host
    assert (DOCKER / default.group(1) / "municipalities.csv").is_file()


def test_image_is_stamped_with_the_commit_the_manifest_reads(compose, dockerfile):
    """The GIT_COMMIT build arg (compose passes it to every built service) becomes the OCI
    revision label and the variable jobs/run_manifest.py reads when there is no git."""
    from jobs.run_manifest import GIT_COMMIT_ENV

    stage = max(i for i, ln in enumerate(dockerfile) if ln.startswith("FROM"))
    final = dockerfile[stage:]
    assert "ARG GIT_COMMIT=unknown" in final
    assert any(ln.startswith("LABEL") and 'org.opencontainers.image.revision="${GIT_COMMIT}"' in ln for ln in final)
    assert f'ENV {GIT_COMMIT_ENV}="${{GIT_COMMIT}}"' in final
    # after every RUN, so a new commit rebuilds no earlier layer
    assert max(i for i, ln in enumerate(final) if ln.startswith("RUN")) < final.index("ARG GIT_COMMIT=unknown")
    built = {n: s for n, s in compose["services"].items() if "build" in s}
    assert built and all(s["build"]["args"]["GIT_COMMIT"] == "${GIT_COMMIT:-unknown}" for s in built.values())


def test_image_installs_the_runtime_lock_only(dockerfile):
    """Test-only packages live in requirements-test.lock, which the image never installs."""
    test_only = {"pytest", "chispa", "pytest-timeout", "playwright"}
    pinned = lambda name: {ln.split("==")[0] for ln in (PROJECT_ROOT / name).read_text().splitlines()  # noqa: E731
                           if "==" in ln and not ln.startswith((" ", "#"))}
    assert not test_only & pinned("requirements.lock")
    assert test_only <= pinned("requirements-test.lock")
    installs = [ln for ln in dockerfile if "requirements" in ln and ln.startswith(("RUN", "COPY"))]
    assert installs and all("requirements-test" not in ln for ln in installs)
    assert "requirements-test.lock" not in (DOCKER / "job.Dockerfile.dockerignore").read_text()
    make = (PROJECT_ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock -r requirements-test.lock" in make
