"""sensor_failure: a sensor whose ticks keep failing is itself an alert."""

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from hrv.alerting import catalogue
from hrv.alerting.book import AlertBook, AlertPolicy
from hrv.settings import load_settings
from hrv.storage.files import write_json_atomic

HEALTH_FILE = "sensor_health.json"
FAILURES_BEFORE_ALERT = 3
F = TypeVar("F", bound=Callable[..., Any])


def _book(kwargs: dict[str, Any]) -> AlertBook:
    """The alert book of the sensor's data folder (its ``store`` resource, else the
    process's settings)."""
    store = kwargs.get("store")
    if store is not None and hasattr(store, "alert_book"):
        return store.alert_book()
    settings = load_settings()
    return AlertBook(settings.data_dir.resolve(), AlertPolicy.from_settings(settings))


def _update(book: AlertBook, name: str, error: str | None) -> tuple[int, int]:
    """Return (consecutive failures before, after) for this sensor."""
    path = book.data_dir / HEALTH_FILE
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
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                try:
                    book = _book(kwargs)
                    _, after = _update(book, name, error[:2000])
                    if after == FAILURES_BEFORE_ALERT:
                        book.record(catalogue.sensor_failing(name, after, error))
                except Exception:
                    pass  # the data folder itself is broken: the tick error says so
                raise
            try:
                book = _book(kwargs)
                before, _ = _update(book, name, None)
                if before >= FAILURES_BEFORE_ALERT:
                    book.record(catalogue.sensor_recovered(name, before))
            except OSError:
                pass
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
