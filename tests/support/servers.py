"""In-process servers on 127.0.0.1 for tests: one that never answers, and an HTTP receiver for webhooks."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HungServer:
    """Accepts TCP connections and never writes a byte: a broker that is up but hung.

    ``connections`` counts what was accepted; ``close()`` closes every socket (which frees anything
    still blocked reading from it) and stops the accepting thread.
    """

    def __init__(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept_forever, name=f"hung-server-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._accepted)

    def _accept_forever(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._accepted.append(conn)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for conn in self._accepted:
                conn.close()


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: Message  # looked up case-insensitively, as HTTP headers are (urllib sends "X-gstp-event")
    body: bytes
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class _Script:
    fail_next: int = 0
    fail_status: int = 500
    raw_reply: bytes | None = None  # sent as-is instead of an HTTP response
    redirect_to: str | None = None
    holding: bool = False
    requests: list[ReceivedRequest] = field(default_factory=list)


class WebhookReceiver:
    """An HTTP server in a thread that records every request and answers 200, or as told.

    ``fail_next(n)`` makes the next ``n`` requests answer 500 (or ``status``); ``reply_raw(bytes)`` makes every
    request get those bytes instead of an HTTP response; ``redirect(path)`` answers POSTs with a 302 there;
    ``hold()`` keeps every request open, read and recorded but unanswered, until ``release()``.
    """

    HOLD_AT_MOST_SECONDS = 60

    def __init__(self):
        self._script = _Script()
        self._lock = threading.Lock()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # keep the test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    script = receiver._script
                    script.requests.append(ReceivedRequest(self.command, self.path, self.headers, body))
                    raw = script.raw_reply
                    redirect = script.redirect_to if self.command == "POST" else None
                    holding = script.holding
                    status = 200
                    if script.fail_next > 0:
                        script.fail_next -= 1
                        status = script.fail_status
                if holding:
                    receiver._released.wait(timeout=receiver.HOLD_AT_MOST_SECONDS)
                try:
                    self._reply(raw, redirect, status)
                except OSError:  # the client went away while the request was held
                    self.close_connection = True

            def _reply(self, raw, redirect, status):
                if raw is not None:
                    self.wfile.write(raw)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if redirect:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                reply = b'{"ok": true}' if status < 300 else b'{"error": "told to fail"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = _handle
            do_GET = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"webhook-receiver-{self.port}"
        )
        self._thread.daemon = True
        self._thread.start()

    def url(self, path: str = "/hooks/gstp") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._script.requests)

    def fail_next(self, count: int, *, status: int = 500) -> None:
        with self._lock:
            self._script.fail_next, self._script.fail_status = count, status

    def reply_raw(self, data: bytes) -> None:
        with self._lock:
            self._script.raw_reply = data

    def redirect(self, path: str) -> None:
        with self._lock:
            self._script.redirect_to = path

    def hold(self) -> None:
        with self._lock:
            self._released.clear()
            self._script.holding = True

    def release(self) -> None:
        with self._lock:
            self._script.holding = False
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
