"""A small Intervals.icu API server on 127.0.0.1 for tests: the outside world, at the wire.

Speaks the wellness part of the public API (https://intervals.icu/api/v1/docs, the
OpenAPI spec; the developer's forum thread "API access to Intervals.icu"):

- HTTP Basic auth, user ``API_KEY``, the key as password; no key: 401; a wrong key:
  403 ``{"status":403,"error":"Access denied"}`` (what the service answers);
- ``GET /api/v1/athlete/0``: the key's own athlete;
- ``GET /api/v1/athlete/{id}/wellness?oldest=&newest=`` (both inclusive): a JSON list of
  records with every documented field (``null`` when not set) and ``updated``;
- ``GET`` / ``PUT /api/v1/athlete/{id}/wellness/{date}``: one record; a PUT changes only
  the fields it sends;
- an athlete who does not share with the key: 403; an unknown id: 404 (Spring's body).

On demand it answers 429 with ``Retry-After``, 500, or a page that is not JSON, and it
records every request.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

GOOD_KEY = "test-intervals-key"
OWN_ID = "i1000"
FIELDS = (
    "weight", "restingHR", "hrv", "hrvSDNN", "menstrualPhase", "menstrualPhasePredicted",
    "kcalConsumed", "sleepSecs", "sleepScore", "sleepQuality", "avgSleepingHR", "soreness",
    "fatigue", "stress", "mood", "motivation", "injury", "spO2", "systolic", "diastolic",
    "hydration", "hydrationVolume", "readiness", "baevskySI", "bloodGlucose", "lactate",
    "bodyFat", "abdomen", "vo2max", "comments", "steps", "respiration", "locked",
)  # fmt: skip


@dataclass
class Request:
    at: float
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int


@dataclass
class FakeIntervals:
    key: str = GOOD_KEY
    # athlete id -> day -> record (only the fields set)
    athletes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    not_shared: set[str] = field(default_factory=set)
    read_only: set[str] = field(default_factory=set)  # PUT answers 403
    mode: str = "ok"  # ok | ratelimit | error500 | malformed | hang
    retry_after: str | None = "2"
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ test helpers
    def add(self, athlete: str, day: dt.date | str, **values: Any) -> None:
        with self.lock:
            days = self.athletes.setdefault(athlete, {})
            key = str(day)
            days.setdefault(key, {}).update(values)
            days[key]["updated"] = (
                dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"
            )

    def calls(self, method: str | None = None, contains: str = "") -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and contains in r.path
            ]

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def record_of(self, athlete: str, day: str) -> dict[str, Any]:
        stored = self.athletes.get(athlete, {}).get(day, {})
        return {"id": day, **{f: stored.get(f) for f in FIELDS}, **stored}

    # ------------------------------------------------------------------ the server
    def start(self) -> FakeIntervals:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> int:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.current.status = status  # before the client can read the answer
                self.send_response(status)
                ctype = "text/html" if isinstance(body, bytes) else "application/json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)
                return status

            def _auth(self) -> int | None:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return self._send(401, {"status": 401, "error": "Unauthorized"})
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                if not password:  # what the service answers to an empty key
                    return self._send(401, {"status": 401, "error": "Unauthorized"})
                if user != "API_KEY" or password != fake.key:
                    return self._send(403, {"status": 403, "error": "Access denied"})
                return None

            def _handle(self, method: str) -> None:
                parsed = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                # recorded before the answer goes out: a client that has its answer finds
                # its request in the list
                request = Request(time.time(), method, parsed.path, query, body, 0)
                with fake.lock:
                    fake.requests.append(request)
                self.current = request
                self._route(method, parsed.path, query, body)

            def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> int:
                if fake.mode == "hang":
                    time.sleep(30)
                    return 0
                if fake.mode == "ratelimit":
                    headers = {"Retry-After": fake.retry_after} if fake.retry_after else {}
                    return self._send(429, {"status": 429, "error": "Too Many Requests"}, headers)
                if fake.mode == "error500":
                    return self._send(500, {"status": 500, "error": "Internal Server Error"})
                refused = self._auth()
                if refused:
                    return refused
                if fake.mode == "malformed":
                    return self._send(200, b"<html><body>Maintenance</body></html>")
                parts = path.strip("/").split("/")
                if parts[:3] != ["api", "v1", "athlete"] or len(parts) < 4:
                    return self._not_found(path)
                athlete = OWN_ID if parts[3] == "0" else parts[3]
                if len(parts) == 4 and method == "GET":
                    return self._send(200, {"id": athlete, "name": "Coach"})
                if athlete not in fake.athletes:
                    return self._not_found(path)
                if athlete in fake.not_shared:
                    return self._send(403, {"status": 403, "error": "Access denied"})
                if len(parts) == 5 and parts[4] == "wellness" and method == "GET":
                    oldest = query.get("oldest", "0000-00-00")
                    newest = query.get("newest", "9999-99-99")
                    with fake.lock:
                        days = sorted(d for d in fake.athletes[athlete] if oldest <= d <= newest)
                        out = [fake.record_of(athlete, d) for d in days]
                    return self._send(200, out)
                if len(parts) == 6 and parts[4] == "wellness":
                    day = parts[5]
                    if method == "PUT":
                        if athlete in fake.read_only:
                            return self._send(403, {"status": 403, "error": "Access denied"})
                        fields = {k: v for k, v in (body or {}).items() if k != "id"}
                        fake.add(athlete, day, **fields)
                    with fake.lock:
                        return self._send(200, fake.record_of(athlete, day))
                return self._not_found(path)

            def _not_found(self, path: str) -> int:
                return self._send(
                    404,
                    {
                        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                        "status": 404,
                        "error": "Not Found",
                        "path": path,
                    },
                )

            def do_GET(self) -> None:
                self._handle("GET")

            def do_PUT(self) -> None:
                self._handle("PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
