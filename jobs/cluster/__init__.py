"""Running the pipeline on a Spark standalone cluster, and proving that it works.

- `standalone`: start/stop a master and workers from the installed pyspark by process id
  (the `pathways cluster up|down|status` commands and the test fixture use it).
- `watch`: driver-side watcher that logs executor loss and recovery (started by
  `jobs.spark.build_spark` for any non-local master).
- `probe`: a small job that proves code and jar shipping, Delta on a shared lake, and
  recovery from a lost worker (`python -m jobs.cluster.probe`).
- `compare`: read two lakes' tables with delta-rs (no Spark) and compare them.
"""
