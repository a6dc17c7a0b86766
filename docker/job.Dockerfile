# syntax=docker/dockerfile:1.7
# The one image of Coercion Pathways: the nightly flow's driver, the Spark master and the
# Spark workers all run it (docker/compose.yml), so driver and executors share Java, Python
# and every pinned package by construction.
#
#   docker build -f docker/job.Dockerfile -t coercion-pathways:latest \
#     --build-arg GIT_COMMIT="$(git describe --always --dirty --tags)" .   (from the repo root)
#
# GIT_COMMIT is stamped into the image (label org.opencontainers.image.revision and
# PATHWAYS_GIT_COMMIT): the image has no git, and each run manifest's code_version reads the
# stamp (flows/manifest.py). Only runtime packages are installed: requirements.lock, never
# requirements-test.lock (pytest, chispa, pytest-timeout, playwright).
#
# Layers, slowest-changing first: OS + JRE 17 -> pinned Python dependencies (requirements.lock,
# installed with uv, hashes required) -> Delta jars (python -m jobs.jars fetch, in a side stage
# so code edits never refetch them) -> our code, one COPY per directory.
# Build context exclusions: docker/job.Dockerfile.dockerignore (BuildKit reads it beside this file).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS runtime
# JRE 17 for Spark; procps because Spark's scripts call `ps`; tini reaps zombies and forwards
# SIGTERM, so `docker stop` stops a worker and its executors cleanly.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps tini \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)" /usr/lib/jvm/java-17
# One JAVA_HOME on amd64 and arm64 alike (Debian names the folder after the architecture).
ENV JAVA_HOME=/usr/lib/jvm/java-17 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_NO_CACHE=1

FROM runtime AS deps
RUN python -m pip install --no-cache-dir --disable-pip-version-check uv==0.13.8 \
    && uv venv --python /usr/local/bin/python3.11 /opt/venv
COPY requirements.lock /tmp/requirements.lock
RUN uv pip install --python /opt/venv/bin/python --require-hashes -r /tmp/requirements.lock
# pyspark's own distribution is SPARK_HOME: bin/spark-class starts masters and workers.
# Its bin/ goes after the venv's, so `python3` stays the venv's interpreter (executors run it).
ENV SPARK_HOME=/opt/venv/lib/python3.11/site-packages/pyspark
ENV PATH=/opt/venv/bin:$SPARK_HOME/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

FROM deps AS jars
WORKDIR /app
# Only what `python -m jobs.jars fetch` needs: the config loader and the jar fetcher (zones.yml:
# a section every Config must have).
COPY jobs/__init__.py jobs/config.py jobs/errors.py jobs/jars.py jobs/
COPY conf/base/spark.yml conf/base/zones.yml conf/base/
RUN mkdir -p conf/local && python -m jobs.jars fetch

FROM deps AS job
ARG UID=10001
RUN useradd --uid ${UID} --create-home --shell /usr/sbin/nologin pathways \
    && mkdir -p /app /lake \
    && chown pathways:pathways /app /lake
WORKDIR /app
COPY --from=jars --chown=pathways:pathways /app/.cache/jars/ .cache/jars/
COPY --chown=pathways:pathways pyproject.toml README.md ./
COPY --chown=pathways:pathways schemas/ schemas/
COPY --chown=pathways:pathways jobs/ jobs/
COPY --chown=pathways:pathways flows/ flows/
COPY --chown=pathways:pathways conf/ conf/
COPY --chown=pathways:pathways expectations/ expectations/
# The `pathways` command (editable, so conf/ and expectations/ resolve under /app), and the
# code zip executors receive via spark.submit.pyFiles built once here (jobs/spark.py).
RUN uv pip install --python /opt/venv/bin/python --no-deps -e . \
    && python -c "from jobs.spark import code_zip; print(code_zip())" \
    && chown -R pathways:pathways /app/.cache
# Last, so a new commit rebuilds no earlier layer.
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.title="coercion-pathways"
ENV PATHWAYS_GIT_COMMIT="${GIT_COMMIT}"
USER pathways
# No secrets here: PREFECT_API_URL, PATHWAYS_* and database settings come from the
# environment (docker/compose.yml, docker/env.example).
ENV PATHWAYS_ENV=cluster \
    PATHWAYS_LAKE=/lake \
    GX_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_HOME=/home/pathways/.prefect
VOLUME ["/lake"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["pathways", "--help"]
