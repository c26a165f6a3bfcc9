"""The server deployment files, validated by parsing (no Docker engine here)."""

import re
from pathlib import Path

import dagster as dg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PG_VARS = {
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_PORT",
    "DAGSTER_PG_USER",
    "DAGSTER_PG_PASSWORD",
    "DAGSTER_PG_DB",
}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def instance_yaml():
    return yaml.safe_load((ROOT / "dagster.yaml").read_text())


def env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def test_services_and_healthchecks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "user_code", "webserver", "daemon"}
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        assert svc["healthcheck"]["test"], name
    assert re.match(r"postgres:1[5-9]", services["postgres"]["image"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "pgdata" in compose["volumes"]
    assert "grpc-health-check" in " ".join(services["user_code"]["healthcheck"]["test"])


def test_one_image_for_the_code_built_once(compose):
    """One `build:` (BuildKit/Bake refuse three builds of one tag); the other services use
    that image and never try to pull it."""
    app = {name: svc for name, svc in compose["services"].items() if name != "postgres"}
    assert {svc["image"] for svc in app.values()} == {"hrv-sentinel:latest"}
    built = [name for name, svc in app.items() if "build" in svc]
    assert built == ["user_code"]
    assert set(app["user_code"]["build"]["args"]) == {"HRV_UID", "HRV_GID"}
    assert all(app[name]["pull_policy"] == "never" for name in ("webserver", "daemon"))
    docker = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes" in docker and "-r requirements-runtime.lock" in docker
    assert "COPY dagster.yaml /opt/dagster/dagster_home/dagster.yaml" in docker


def test_containers_run_as_a_configurable_non_root_user():
    docker = (ROOT / "Dockerfile").read_text()
    assert "ARG HRV_UID=1000" in docker and "ARG HRV_GID=1000" in docker
    assert docker.rstrip().splitlines()[-2] == "USER ${HRV_UID}:${HRV_GID}"
    assert env_example()["HRV_UID"] == "1000" and env_example()["HRV_GID"] == "1000"


def test_run_logs_live_on_a_volume_the_webserver_shares(compose):
    """Runs write their stdout/stderr under $DAGSTER_HOME/storage where they execute
    (user_code); the webserver reads them there for the UI (GraphQL capturedLogs)."""
    target = "dagster_storage:/opt/dagster/dagster_home/storage"
    for name in ("user_code", "webserver", "daemon"):
        svc = compose["services"][name]
        volumes = svc.get("volumes", compose["x-app"]["volumes"])
        assert target in volumes, name
    assert "dagster_storage" in compose["volumes"]


def test_no_usable_default_password_and_an_authenticating_healthcheck(compose):
    assert env_example()["DAGSTER_PG_PASSWORD"] == ""  # so ${...:?} stops `up` until set
    pg = compose["services"]["postgres"]
    assert pg["environment"]["POSTGRES_PASSWORD"].endswith(":?set DAGSTER_PG_PASSWORD in .env}")
    check = " ".join(pg["healthcheck"]["test"])
    # over the network with the password: pg_isready would not notice a wrong one
    assert "PGPASSWORD=" in check and "psql -h" in check and "pg_isready" not in check


def test_workspace_points_at_the_code_server(compose):
    ws = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    (entry,) = ws["load_from"]
    grpc = entry["grpc_server"]
    assert grpc["host"] == "user_code" and grpc["port"] == 4000
    command = compose["services"]["user_code"]["command"]
    assert command[:3] == ["dagster", "code-server", "start"]
    assert "-f" in command and command[command.index("-f") + 1] == "definitions.py"
    assert command[command.index("-p") + 1] == str(grpc["port"])
    assert command[command.index("--location-name") + 1] == grpc["location_name"]
    for name in ("webserver", "daemon"):
        cmd = compose["services"][name]["command"]
        assert cmd[cmd.index("-w") + 1] == "workspace.yaml"


def test_every_pg_variable_is_provided(compose, instance_yaml):
    pg = instance_yaml["storage"]["postgres"]["postgres_db"]
    used = {v["env"] for v in pg.values() if isinstance(v, dict) and "env" in v}
    assert used == PG_VARS
    assert set(env_example()) >= PG_VARS
    for name, svc in compose["services"].items():
        if name != "postgres":
            assert svc["env_file"] == ".env"
    pg_env = compose["services"]["postgres"]["environment"]
    assert "DAGSTER_PG_PASSWORD" in pg_env["POSTGRES_PASSWORD"]
    assert env_example()["DAGSTER_PG_HOST"] == "postgres"  # the compose service name
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in gitignore and not (ROOT / ".env").exists()


def test_data_folders_are_mounted_where_sensors_and_runs_read_them(compose):
    user_code = compose["services"]["user_code"]
    mounts = dict(v.split(":")[::-1] for v in user_code["volumes"])
    env = {**compose["x-app"]["environment"], **user_code.get("environment", {})}
    for var, host in (
        ("HRV_INBOX_DIR", "./inbox"),
        ("HRV_SOURCES_DIR", "./sources"),
        ("HRV_DATA_DIR", "./data"),
    ):
        assert mounts[env[var]] == host


def test_instance_config(instance_yaml):
    pg = instance_yaml["storage"]["postgres"]["postgres_db"]
    assert pg["scheme"] == "postgresql+psycopg2"
    rc = instance_yaml["run_coordinator"]
    assert rc["class"] == "QueuedRunCoordinator"
    assert rc["config"]["max_concurrent_runs"] >= 1
    (limit,) = rc["config"]["tag_concurrency_limits"]
    assert limit == {"key": "athlete", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    assert instance_yaml["run_monitoring"]["enabled"] is True
    assert instance_yaml["run_retries"]["enabled"] is True
    assert instance_yaml["sensors"]["use_threads"] is True
    assert instance_yaml["retention"]["sensor"]["purge_after_days"]["skipped"] >= 1
    assert instance_yaml["telemetry"]["enabled"] is False


def test_instance_configs_are_valid_for_dagster(tmp_path, monkeypatch):
    """Both instance files load through Dagster's own config validation."""
    for key in PG_VARS:
        monkeypatch.setenv(key, "5432" if key.endswith("PORT") else "x")
    for name in ("dagster.yaml", "deploy/dagster.local.yaml"):
        config = yaml.safe_load((ROOT / name).read_text())
        if "storage" in config:
            # validate everything but the database connection itself
            config.pop("storage")
        home = tmp_path / name.replace("/", "_")
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        with dg.DagsterInstance.from_config(str(home)) as inst:
            assert type(inst.run_coordinator).__name__ == "QueuedRunCoordinator"


def test_the_docker_runs_override_is_the_root_instance_plus_a_run_launcher(instance_yaml):
    """deploy/dagster.docker-runs.yaml is dagster.yaml word for word plus the launcher, which
    passes every setting and PostgreSQL variable through to the run containers."""
    from hrv.settings import Settings

    text = (ROOT / "deploy" / "dagster.docker-runs.yaml").read_text()
    assert (ROOT / "dagster.yaml").read_text() in text
    runs = yaml.safe_load(text)
    launcher = runs.pop("run_launcher")
    assert runs == instance_yaml
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    config = launcher["config"]
    assert set(config["env_vars"]) >= PG_VARS | set(Settings.variables())
    assert config["image"] == "hrv-sentinel:latest" and config["network"] == "hrv_sentinel"
    override = yaml.safe_load((ROOT / "docker-compose.docker-runs.yml").read_text())
    name = override["services"]["user_code"]["container_name"]
    assert config["container_kwargs"]["volumes_from"] == [name]
    mount = "./deploy/dagster.docker-runs.yaml:/opt/dagster/dagster_home/dagster.yaml:ro"
    for service in ("user_code", "webserver", "daemon"):
        assert mount in override["services"][service]["volumes"], service
    assert "/var/run/docker.sock:/var/run/docker.sock" in override["services"]["daemon"]["volumes"]
    readme = (ROOT / "README.md").read_text()
    assert "docker-compose.docker-runs.yml" in readme and "K8sRunLauncher" in readme


def test_the_production_image_installs_runtime_pins_only():
    """requirements-runtime.lock (the image's) holds no dev tool, and every pin in it is the
    same as in requirements.lock (make install's), so both come from one resolution."""

    def pins(name):
        out = {}
        for line in (ROOT / name).read_text().splitlines():
            if "==" in line and not line.startswith((" ", "#")):
                pkg, version = line.split(" ")[0].split("==")
                out[pkg.lower()] = version
        return out

    runtime, everything = pins("requirements-runtime.lock"), pins("requirements.lock")
    for tool in ("pytest", "ruff", "mypy", "hypothesis", "pyinstrument", "pytest-xdist"):
        assert tool not in runtime and tool in everything, tool
    assert {"dagster", "dagster-postgres", "pandas", "scikit-learn", "slack-sdk"} <= set(runtime)
    assert all(everything[p] == v for p, v in runtime.items())
