"""One typed settings object: every variable validated, documented and shown without secrets."""

from pathlib import Path

import pytest

from hrv.settings import Settings, SettingsError, load_settings
from resources import SettingsResource

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_the_contracts():
    s = Settings()
    assert (s.inbox_dir, s.sources_dir, s.data_dir) == (
        Path("inbox"),
        Path("sources"),
        Path("data"),
    )
    assert s.default_athlete == "me" and s.timezone == "UTC"
    assert (s.freshness_warn_hours, s.freshness_fail_hours) == (36.0, 60.0)
    assert (s.squad_min_athletes, s.squad_size) == (1, 250) and s.squad_runs >= 1
    assert s.webserver_url == "http://127.0.0.1:3000" and not s.slack_configured


def test_every_bad_value_is_named_with_its_variable_value_and_reason(monkeypatch):
    monkeypatch.setenv("HRV_INBOX_SETTLE_SECONDS", "two")
    monkeypatch.setenv("HRV_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("HRV_DEFAULT_ATHLETE", "Bad Name")
    monkeypatch.setenv("HRV_SQUAD_SIZE", "0")
    load_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as err:
            load_settings()
    finally:
        load_settings.cache_clear()
    message = str(err.value)
    assert "HRV_INBOX_SETTLE_SECONDS='two'" in message and "valid number" in message
    assert "HRV_TIMEZONE='Mars/Olympus': unknown time zone" in message
    assert "HRV_DEFAULT_ATHLETE='Bad Name'" in message
    assert "HRV_SQUAD_SIZE='0'" in message and "greater than or equal to 1" in message


def test_thresholds_must_make_sense_together():
    with pytest.raises(SettingsError, match="HRV_FRESHNESS_FAIL_HOURS \\(10\\) must be at least"):
        Settings.from_variables(
            {"HRV_FRESHNESS_WARN_HOURS": "36", "HRV_FRESHNESS_FAIL_HOURS": "10"}
        )


def test_empty_values_mean_the_default_and_old_batch_names_still_work(monkeypatch):
    monkeypatch.setenv("HRV_INBOX_DIR", "")
    monkeypatch.setenv("HRV_BATCH_SIZE", "7")
    s = Settings()
    assert s.inbox_dir == Path("inbox") and s.squad_size == 7


def test_secrets_show_only_as_set_and_survive_the_trip_through_the_resource(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_CHANNEL", "#hrv")
    s = Settings()
    shown = s.public()
    assert shown["SLACK_BOT_TOKEN"] == "set (secret)" and shown["SLACK_WEBHOOK_URL"] == "not set"
    assert "xoxb-very-secret" not in repr(shown) and "xoxb-very-secret" not in repr(s)
    carried = SettingsResource.of(s)
    assert "xoxb-very-secret" not in carried.model_dump_json()
    assert carried.get().slack_configured and carried.get().slack_channel == "#hrv"


def test_every_setting_is_in_the_readme_table_and_env_example():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for variable in Settings.variables():
        assert f"`{variable}`" in readme, variable
        assert f"\n{variable}=" in example, variable


def test_no_code_reads_the_environment_except_the_settings():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv", "tests/", "benchmarks/", "docs/")) or rel == "hrv/settings.py":
            continue
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(rel)
    assert offenders == []
