"""Prefect flows and the `pathways` command line.

Importing this package sets quiet, offline-friendly defaults for Prefect and Great
Expectations (only where the variable is not set already), before either is imported:
no analytics or tracking calls, and a 90 s start-up allowance for Prefect's temporary local
server on busy machines. PREFECT_HOME is left alone: Prefect's default (~/.prefect) unless
you set it. PREFECT_API_URL decides where flow runs are recorded: unset = the temporary
local server Prefect starts by itself; set = that server (docs/orchestration.md).
Spark's bind address (SPARK_LOCAL_IP) is not set here: jobs/spark.py defaults it to
127.0.0.1 only for a local or loopback master, so a driver on a multi-host cluster binds
where its environment says (docs/cluster.md, "Networking").
"""
import os

ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}
for _name, _value in ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
