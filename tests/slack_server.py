"""A small Slack Web API server on 127.0.0.1 for tests: the outside world, faked at the wire.

Implements ``auth.test``, ``chat.postMessage`` (bot token in ``Authorization: Bearer``)
and an incoming-webhook endpoint; records every request; and answers, on demand, HTTP 500,
HTTP 429 with ``Retry-After``, or ``invalid_auth``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

GOOD_TOKEN = "xoxb-test-good-token"
WEBHOOK_PATH = "/webhook/T000/B000/secret"


@dataclass
class Recorded:
    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    ok: bool


@dataclass
class FakeSlack:
    mode: str = "ok"  # ok | error500 | ratelimit | invalid_auth | not_in_channel | hang
    retry_after: int = 1
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                if fake.mode == "hang":  # accepts the connection, never answers in time
                    with fake.lock:
                        fake.requests.append(
                            Recorded(time.time(), self.path, dict(self.headers), {}, 0, False)
                        )
                    end = time.time() + 60
                    while fake.mode == "hang" and time.time() < end:
                        time.sleep(0.1)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                status, payload, headers = fake.answer(self.path, dict(self.headers), body)
                ok = status == 200 and (
                    payload == "ok" or (isinstance(payload, dict) and bool(payload.get("ok")))
                )
                with fake.lock:
                    fake.requests.append(
                        Recorded(time.time(), self.path, dict(self.headers), body, status, ok)
                    )
                data = (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def answer(self, path: str, headers: dict[str, str], body: dict[str, Any]):
        webhook = path.startswith("/webhook/")
        if self.mode == "error500":
            return 500, "internal error", {}
        if self.mode == "ratelimit":
            payload = "rate_limited" if webhook else {"ok": False, "error": "ratelimited"}
            return 429, payload, {"Retry-After": str(self.retry_after)}
        if webhook:
            if path != WEBHOOK_PATH or self.mode == "invalid_auth":
                return 403, "invalid_token", {}
            return 200, "ok", {}
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        token = auth.removeprefix("Bearer ").strip() or body.get("token", "")
        if self.mode == "invalid_auth" or token != GOOD_TOKEN:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if path == "/api/auth.test":
            return 200, {"ok": True, "team": "T", "user": "hrv-bot"}, {}
        if path == "/api/chat.postMessage":
            if not body.get("channel"):
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            if self.mode == "not_in_channel":
                return 200, {"ok": False, "error": "not_in_channel"}, {}
            return 200, {"ok": True, "channel": body["channel"], "ts": f"{time.time():.6f}"}, {}
        return 404, {"ok": False, "error": "unknown_method"}, {}

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies of messages Slack accepted (chat.postMessage or webhook)."""
        with self.lock:
            return [
                r.body
                for r in self.requests
                if r.ok and r.path in ("/api/chat.postMessage", WEBHOOK_PATH)
            ]

    def attempts(self) -> int:
        with self.lock:
            return len(self.requests)
