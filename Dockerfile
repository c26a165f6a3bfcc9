# One image for the project's code: the user-code server, the webserver and the daemon.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    HRV_INBOX_DIR=/opt/hrv/inbox \
    HRV_SOURCES_DIR=/opt/hrv/sources \
    HRV_DATA_DIR=/opt/hrv/data

WORKDIR /opt/hrv/app
COPY requirements-runtime.lock .
# the runtime pins only: no pytest, ruff, mypy, hypothesis or pyinstrument in production
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-runtime.lock

COPY pyproject.toml definitions.py workspace.yaml ./
COPY hrv ./hrv
COPY assets ./assets
COPY resources ./resources
COPY sensors ./sensors
COPY alerts ./alerts
RUN mkdir -p "$DAGSTER_HOME" /opt/hrv/inbox /opt/hrv/sources /opt/hrv/data \
    && printf '#!/bin/sh\nPYTHONPATH=/opt/hrv/app exec python -m hrv.cli.main "$@"\n' > /usr/local/bin/hrv-sentinel \
    && chmod +x /usr/local/bin/hrv-sentinel
# the server instance: PostgreSQL from DAGSTER_PG_* (see .env.example)
COPY dagster.yaml /opt/dagster/dagster_home/dagster.yaml

EXPOSE 3000 4000
