#!/usr/bin/env bash
# Local stand-ins for the two base images the stack uses (python:3.11-slim and
# postgres:17), for a machine that cannot pull from Docker Hub. Where the images can be
# pulled (or are already present) this does nothing: the real images are always preferred.
#
#   bash deploy/base-images/build.sh          # pull, or build a stand-in for what fails
#   FORCE_STANDINS=1 bash deploy/base-images/build.sh   # build stand-ins regardless
#
# A stand-in is Debian 12 from the Debian mirror (debootstrap, as root) with Debian's
# Python 3.11 and PostgreSQL 15, made to behave like the official image where the stack
# relies on it: `python`/`pip` on the PATH, and for PostgreSQL the POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB variables, data in /var/lib/postgresql/data, password
# authentication for connections from other containers.
set -euo pipefail
cd "$(dirname "$0")"

PY_IMAGE=${PY_IMAGE:-python:3.11-slim}
PG_IMAGE=${PG_IMAGE:-postgres:17}
BASE_IMAGE=hrv-sentinel-standin-base:bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

present() { docker image inspect "$1" >/dev/null 2>&1; }
pulled() { timeout "${PULL_TIMEOUT:-60}" docker pull -q "$1" >/dev/null 2>&1; }

wanted=()
for image in "$PY_IMAGE" "$PG_IMAGE"; do
  if [ -z "${FORCE_STANDINS:-}" ] && { present "$image" || pulled "$image"; }; then
    echo "base image $image: $(docker image inspect -f '{{.Id}}' "$image" | cut -c1-19)"
  else
    wanted+=("$image")
  fi
done
[ ${#wanted[@]} -eq 0 ] && exit 0

if ! present "$BASE_IMAGE" || [ -n "${FORCE_STANDINS:-}" ]; then
  command -v debootstrap >/dev/null || {
    echo "building stand-ins needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
  root=$(mktemp -d /tmp/hrv-standin-root.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "debootstrap Debian 12 into $root (a few minutes) ..."
  debootstrap --variant=minbase \
    --include=ca-certificates,python3,python3-pip,python3-venv,python-is-python3,postgresql-15,postgresql-client-15,passwd,procps \
    bookworm "$root" "$MIRROR" > /tmp/hrv-standin-debootstrap.log 2>&1 \
    || { tail -20 /tmp/hrv-standin-debootstrap.log >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
  echo "imported $BASE_IMAGE"
fi

for image in "${wanted[@]}"; do
  case "$image" in
    "$PY_IMAGE") docker build -q -t "$image" --build-arg BASE="$BASE_IMAGE" -f python.Dockerfile . >/dev/null ;;
    "$PG_IMAGE") docker build -q -t "$image" --build-arg BASE="$BASE_IMAGE" -f postgres.Dockerfile . >/dev/null ;;
  esac
  echo "base image $image: local stand-in (Debian 12)"
done
