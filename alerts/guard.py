"""sensor_failure: a sensor whose ticks keep failing is itself an alert."""

import datetime as dt
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hrv.alerting.catalogue import make_alert, record_alert
from hrv.storage.files import write_json_atomic

HEALTH_FILE = "sensor_health.json"
FAILURES_BEFORE_ALERT = 3
F = TypeVar("F", bound=Callable[..., Any])


def _data_dir(kwargs: dict[str, Any]) -> Path:
    store = kwargs.get("store")
    if store is not None and hasattr(store, "path"):
        return store.path
    return Path(os.environ.get("HRV_DATA_DIR") or "data").resolve()


def _update(data_dir: Path, name: str, error: str | None) -> tuple[int, int]:
    """Return (consecutive failures before, after) for this sensor."""
    path = data_dir / HEALTH_FILE
    try:
        health = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        health = {}
    before = int(health.get(name, {}).get("consecutive", 0))
    after = before + 1 if error else 0
    if after != before or error:
        health[name] = {
            "consecutive": after,
            "last_error": error,
            "at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        }
        write_json_atomic(path, health)
    return before, after


def guarded(name: str) -> Callable[[F], F]:
    """Count consecutive failing ticks of a sensor; alert at the third, resolve on success.

    The exception is re-raised, so the tick still shows as failed in the UI.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data_dir = _data_dir(kwargs)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                try:
                    _, after = _update(data_dir, name, error[:2000])
                    if after == FAILURES_BEFORE_ALERT:
                        record_alert(
                            data_dir,
                            make_alert(
                                "sensor_failure",
                                severity="error",
                                title=f"Sensor {name} keeps failing",
                                text=f"{after} ticks in a row failed. Last error:\n{error}",
                                fingerprint=f"sensor_failure:-:{name}",
                                athlete=None,
                                subject=name,
                                link=f"/overview/automation?search={name}",
                            ),
                        )
                except OSError:
                    pass  # the data folder itself is broken: the tick error says so
                raise
            try:
                before, _ = _update(data_dir, name, None)
                if before >= FAILURES_BEFORE_ALERT:
                    record_alert(
                        data_dir,
                        make_alert(
                            "sensor_failure",
                            status="resolved",
                            severity="info",
                            title=f"Sensor {name} works again",
                            text=f"A tick succeeded after {before} failures.",
                            fingerprint=f"sensor_failure:-:{name}",
                            athlete=None,
                            subject=name,
                        ),
                    )
            except OSError:
                pass
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
