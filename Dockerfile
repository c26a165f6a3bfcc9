# One image for the project's code: the user-code server, the webserver, the daemon and
# (with the DockerRunLauncher override) every run's container.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

# The containers run as this user, not root. Give it your own ids (HRV_UID/HRV_GID in .env)
# so that what the stack writes under data/ is yours on the host, and your files in
# inbox/ and sources/ can be moved by it.
ARG HRV_UID=1000
ARG HRV_GID=1000

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    HRV_INBOX_DIR=/opt/hrv/inbox \
    HRV_SOURCES_DIR=/opt/hrv/sources \
    HRV_DATA_DIR=/opt/hrv/data \
    HOME=/home/hrv \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /opt/hrv/app
COPY requirements-runtime.lock .
# a corporate CA (deploy/ca-certificates/*.crt), if any: trusted by pip and at run time
COPY deploy/ca-certificates/ /tmp/extra-ca/
# the runtime pins only: no pytest, ruff, mypy, hypothesis or pyinstrument in production
RUN set -e; \
    if ls /tmp/extra-ca/*.crt >/dev/null 2>&1; then \
      cp /tmp/extra-ca/*.crt /usr/local/share/ca-certificates/ && update-ca-certificates >/dev/null; \
      export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; \
    fi; \
    rm -rf /tmp/extra-ca; \
    pip install --no-cache-dir --require-hashes --no-deps -r requirements-runtime.lock

RUN (getent group "$HRV_GID" >/dev/null || groupadd --gid "$HRV_GID" hrv) \
    && useradd --uid "$HRV_UID" --gid "$HRV_GID" --create-home --home-dir /home/hrv \
       --shell /usr/sbin/nologin hrv \
    && mkdir -p "$DAGSTER_HOME/storage" /opt/hrv/inbox /opt/hrv/sources /opt/hrv/data \
    && chown "$HRV_UID:$HRV_GID" "$DAGSTER_HOME" "$DAGSTER_HOME/storage" \
       /opt/hrv/inbox /opt/hrv/sources /opt/hrv/data \
    && printf '#!/bin/sh\nPYTHONPATH=/opt/hrv/app exec python -m hrv.cli.main "$@"\n' > /usr/local/bin/hrv-sentinel \
    && chmod 755 /usr/local/bin/hrv-sentinel

COPY pyproject.toml definitions.py workspace.yaml ./
COPY hrv ./hrv
COPY assets ./assets
COPY resources ./resources
COPY sensors ./sensors
COPY alerts ./alerts
# the server instance: PostgreSQL from DAGSTER_PG_* (see .env.example)
COPY dagster.yaml /opt/dagster/dagster_home/dagster.yaml

USER ${HRV_UID}:${HRV_GID}
EXPOSE 3000 4000
