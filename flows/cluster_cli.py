"""`pathways cluster up|down|status`: a Spark standalone cluster on this machine, by pid.

`up` starts a master and workers in the background and writes their pids and ports to
`<root>/state.json` (default `.cache/cluster/`); `down` stops exactly those processes;
`status` prints what the master reports. Then run the flow against it:

    eval "$(pathways cluster up --print-env)"   # or copy the export line `up` prints
    pathways --env cluster --lake /shared/lake run
    pathways cluster down
"""
from __future__ import annotations

from pathlib import Path

import typer

from jobs.config import PROJECT_ROOT

DEFAULT_ROOT = PROJECT_ROOT / ".cache" / "cluster"

cluster_app = typer.Typer(help="Start, inspect and stop a Spark standalone cluster on 127.0.0.1 (by pid).",
                          no_args_is_help=True)


@cluster_app.command()
def up(
    workers: int = typer.Option(2, min=1, help="Number of workers."),
    cores: int = typer.Option(1, min=1, help="Cores each worker offers."),
    memory: str = typer.Option("2g", help="Memory each worker offers to executors (spark.executor.memory must fit)."),
    root: Path = typer.Option(DEFAULT_ROOT, help="Folder for state.json, logs and worker work dirs."),
    print_env: bool = typer.Option(False, "--print-env", help="Print only the export line (for eval)."),
) -> None:
    """Start a master and workers; print the PATHWAYS_SPARK_MASTER line to export."""
    from jobs.cluster.standalone import ClusterState, running_daemons, start_cluster
    from jobs.errors import ClusterError

    if (root / "state.json").is_file() and running_daemons(ClusterState.load(root)):
        raise ClusterError(f"a cluster from {root / 'state.json'} is still running; `pathways cluster down` first")
    state = start_cluster(root, workers=workers, cores=cores, memory=memory)
    export = f"export PATHWAYS_ENV=cluster PATHWAYS_SPARK_MASTER={state.master_url}"
    if print_env:
        typer.echo(export)
        return
    typer.echo(f"master {state.master_url}  web UI {state.master_webui}  (pid {state.master.pid})")
    for w in state.workers:
        typer.echo(f"{w.role}: pid {w.pid}, {cores} core(s), {memory}, log {w.log_file}")
    typer.echo(f"state: {root / 'state.json'}\nthen: {export}")


@cluster_app.command()
def status(root: Path = typer.Option(DEFAULT_ROOT, help="Folder holding state.json.")) -> None:
    """Print the master's view: workers (ALIVE/DEAD), cores, memory and applications."""
    from jobs.cluster.standalone import ClusterState, master_json, running_daemons

    state = ClusterState.load(root)
    running = {d.role for d in running_daemons(state)}
    if "master" not in running:
        typer.echo(f"master (pid {state.master.pid}) is not running")
        raise typer.Exit(1)
    data = master_json(state)
    typer.echo(f"master {state.master_url}: {data.get('status')}, {data.get('aliveworkers')} alive worker(s), "
               f"{data.get('coresused')}/{data.get('cores')} cores used")
    by_port = {w.port: w for w in state.workers}
    for worker in data.get("workers", []):
        ours = by_port.get(worker.get("port"))
        pid = f"pid {ours.pid}" if ours else "not started by us"
        typer.echo(f"  worker {worker.get('host')}:{worker.get('port')} {worker.get('state')} "
                   f"cores {worker.get('coresused')}/{worker.get('cores')} memory {worker.get('memory')} MB ({pid})")
    for app in data.get("activeapps", []):
        typer.echo(f"  running app {app.get('id')} {app.get('name')} cores {app.get('cores')}")


@cluster_app.command()
def down(root: Path = typer.Option(DEFAULT_ROOT, help="Folder holding state.json.")) -> None:
    """Stop the workers and the master started by `up` (by their pids)."""
    from jobs.cluster.standalone import ClusterState, stop_cluster

    state = ClusterState.load(root)
    stopped = stop_cluster(state)
    typer.echo(f"stopped pids {stopped}" if stopped else "nothing was running")
