"""Intervals.icu, the outside world: its wellness API, and what its answers mean.

Intervals.icu gathers an athlete's devices (Garmin, WHOOP, Oura, Polar, HRV4Training...)
into one **wellness** record a day, ``GET /api/v1/athlete/{id}/wellness?oldest=&newest=``
(a JSON list of records whose ``id`` is the day, ``YYYY-MM-DD``). An API key authenticates
with HTTP Basic auth, user ``API_KEY`` and the key as password; a coach's key reads the
athletes who share with the coach, by their id (``i12345``).

``WellnessClient`` speaks that API and turns every way a call can go wrong into an
``ApiError`` whose ``kind`` says what to do about it:

- ``auth`` (401): the key is wrong or revoked; nothing can work until someone fixes it.
- ``forbidden`` / ``not_found`` (403/404): this athlete does not share with the key, or
  the id is wrong; the other athletes go on. Intervals.icu also answers 403 ("Access
  denied") to a wrong key, so a 403 is followed by ``key_works()`` (``GET
  /api/v1/athlete/0``, the key's own athlete) to tell the two apart.
- ``rate_limited`` (429): wait ``retry_after`` seconds (the server's ``Retry-After``).
- ``server`` (5xx, timeouts, refused connections): the service is down; back off.
- ``malformed``: an answer that is not the JSON the API documents.

Everything here is about the wire. What is kept of a record (``WELLNESS_FIELDS``) and how
a record becomes a reading is in ``hrv.intake.exports.wellness``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

API_USER = "API_KEY"  # Basic auth user name; the key is the password
CHUNK_DAYS = 100  # days per request: a first pull of a year is 4 requests
TIMEOUT_SECONDS = 15.0
MIN_SPACING_SECONDS = 0.1  # the service allows ~10 requests/s per address
MAX_RETRY_AFTER = 3600.0

ErrorKind = Literal["auth", "forbidden", "not_found", "rate_limited", "server", "malformed"]


@dataclass
class ApiError(Exception):
    kind: ErrorKind
    status: int | None
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        code = f"HTTP {self.status}: " if self.status else ""
        return f"{code}{self.message}"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _excerpt(text: str, n: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def date_windows(oldest: dt.date, newest: dt.date, size: int = CHUNK_DAYS) -> Iterator[tuple]:
    """``[oldest, newest]`` in windows of at most ``size`` days, newest first (a pull cut
    short by a rate limit has the recent days, the ones a forecast needs)."""
    end = newest
    while end >= oldest:
        start = max(oldest, end - dt.timedelta(days=size - 1))
        yield start, end
        end = start - dt.timedelta(days=1)


class WellnessClient:
    """One API key against one Intervals.icu address."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = TIMEOUT_SECONDS):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        import requests  # here: a run worker loads this module and never makes a request

        self._requests = requests
        self.session = requests.Session()
        self.session.auth = (API_USER, api_key)
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = "hrv-sentinel"
        self.requests_made = 0
        # names the key without revealing it: a new key is tried at once, not in an hour
        self.key_id = hashlib.sha256(api_key.encode()).hexdigest()[:12]
        self._last_request = 0.0

    def close(self) -> None:
        self.session.close()

    def _url(self, athlete_id: str, *parts: str) -> str:
        path = "/".join(quote(p, safe="") for p in (athlete_id, "wellness", *parts))
        return f"{self.base_url}/api/v1/athlete/{path}"

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        self.requests_made += 1
        wait = self._last_request + MIN_SPACING_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except self._requests.Timeout:
            raise ApiError("server", None, f"no answer within {self.timeout:g} s") from None
        except self._requests.RequestException as exc:
            reason = type(exc).__name__
            raise ApiError("server", None, f"cannot reach {self.base_url} ({reason})") from None
        status = response.status_code
        if status == 401:
            raise ApiError("auth", 401, "the API key was refused (INTERVALS_ICU_API_KEY)")
        if status == 403:
            raise ApiError("forbidden", 403, "this athlete does not share their data with the key")
        if status == 404:
            raise ApiError("not_found", 404, "no such athlete id on Intervals.icu")
        if status == 429:
            retry = retry_after_seconds(response.headers.get("Retry-After"))
            raise ApiError("rate_limited", 429, "rate limited", retry_after=retry)
        if status >= 500:
            raise ApiError("server", status, f"server error: {_excerpt(response.text)}")
        if status >= 400:
            raise ApiError("malformed", status, f"request refused: {_excerpt(response.text)}")
        if method == "PUT" and not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                "malformed", status, f"answer is not JSON: {_excerpt(response.text)!r}"
            ) from None

    def key_works(self) -> bool:
        """Whether the key itself is accepted (``athlete/0`` is the key's own athlete)."""
        try:
            self._call("GET", f"{self.base_url}/api/v1/athlete/0")
        except ApiError as exc:
            if exc.kind in ("auth", "forbidden"):
                return False
            raise
        return True

    def wellness(self, athlete_id: str, oldest: dt.date, newest: dt.date) -> list[dict[str, Any]]:
        """Every wellness record from ``oldest`` to ``newest`` (both included), one request
        per ``CHUNK_DAYS``; records without a day ``id`` are a malformed answer."""
        records: list[dict[str, Any]] = []
        for start, end in date_windows(oldest, newest):
            body = self._call(
                "GET",
                self._url(athlete_id),
                params={"oldest": start.isoformat(), "newest": end.isoformat()},
            )
            if not isinstance(body, list):
                shape = type(body).__name__
                raise ApiError(
                    "malformed", 200, f"expected a list of wellness records, got {shape}"
                )
            for i, record in enumerate(body):
                if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                    shown = _excerpt(json.dumps(record, default=str), 80)
                    raise ApiError("malformed", 200, f"record {i + 1} has no day id: {shown}")
                records.append(record)
        return records

    def day(self, athlete_id: str, day: dt.date) -> dict[str, Any]:
        """One day's record (an empty one when the day has none yet)."""
        try:
            body = self._call("GET", self._url(athlete_id, day.isoformat()))
        except ApiError as exc:
            if exc.kind == "not_found":  # the athlete exists (pulled just now): no record
                return {"id": day.isoformat()}
            raise
        if not isinstance(body, dict):
            raise ApiError("malformed", 200, f"expected a wellness record for {day}")
        return body

    def update_day(self, athlete_id: str, day: dt.date, fields: dict[str, Any]) -> None:
        """Set ``fields`` of one day's record; the fields not sent are left as they are."""
        self._call(
            "PUT", self._url(athlete_id, day.isoformat()), json={"id": day.isoformat(), **fields}
        )
