"""An HTTP/1.1 load generator on asyncio streams, cheap enough to share two cores with the server it loads.

Open loop (as wrk2 schedules): call ``i`` is due at ``start + i / rate`` whatever happened to the ones before
it, and its time counts from when it was due, so a stall is charged to every call queued behind it. At most
``connections`` calls are in flight; a call due while all of them are busy waits for one, its clock running.
A connection is used again when the server keeps it open (gunicorn's gthread workers) and a new one is opened
when the server closes it (gunicorn's sync workers close every connection). Closed loop: ``connections``
clients each send their next call as soon as the last is answered, for the highest rate the server gives.

The generator reports its own lateness: how long after a call was due the event loop first got to it
(``late``), and the CPU it used. A late generator, not the server, is what limits such a run.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# The generator is behind when it gets to calls later than this (p95: the knee's percentile; a late start counts
# in a call's time) and that lateness is at least half the calls' p95, or when it uses this share of a core.
LATE_LIMIT_SECONDS = 0.005
CPU_LIMIT = 0.8


@dataclass(frozen=True)
class Call:
    """One request, its bytes made once: ``name`` groups the figures."""

    name: str
    data: bytes
    expected: int = 200


def request_bytes(
    method: str, path: str, headers: dict[str, str], body: bytes | None = None, *, host: str, close: bool = False
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{key}: {value}" for key, value in headers.items())]
    if close:
        lines.append("Connection: close")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


@dataclass
class Answer:
    name: str
    status: int  # 0: no answer (refused, reset, timed out, or never sent before the run ended)
    seconds: float  # from due to answered
    late: float  # from due to when the event loop first got to the call
    expected: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status != self.expected


@dataclass
class Run:
    answers: list[Answer]
    wall_seconds: float
    cpu_seconds: float  # this process's, over the run

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0


class Generator:
    def __init__(self, port: int, *, host: str = "127.0.0.1", connections: int = 64, timeout: float = 10.0):
        self.host, self.port = host, port
        self.connections, self.timeout = connections, timeout
        self._idle: list[_Connection] = []
        self.opened = 0  # connections opened, for the figures: one per call when the server closes them

    def open_loop(self, calls: Sequence[Call], rate: float, *, grace: float = 10.0) -> Run:
        """Send ``calls[i]`` at ``start + i / rate``; calls still unanswered ``grace`` seconds after the last one
        was due are given up (status 0)."""
        return self._timed(self._open_loop(calls, rate, grace))

    def closed_loop(self, pick: Callable[[int], Call], *, seconds: float, keep_headers: bool = False) -> Run:
        """``connections`` clients, each sending call ``pick(n)`` as soon as its last one is answered."""
        return self._timed(self._closed_loop(pick, seconds, keep_headers))

    def each(self, calls: Sequence[Call]) -> list[Answer]:
        """Every call once, as fast as the server answers, with the answers' headers (to read an ETag)."""
        return self._timed(self._closed_loop(calls.__getitem__, None, True, total=len(calls))).answers

    def _timed(self, coroutine) -> Run:
        wall, cpu = time.monotonic(), time.process_time()
        answers = asyncio.run(coroutine)
        return Run(answers, time.monotonic() - wall, time.process_time() - cpu)

    async def _open_loop(self, calls: Sequence[Call], rate: float, grace: float) -> list[Answer]:
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(self.connections)
        answers: list[Answer | None] = [None] * len(calls)
        start = loop.time() + 0.05
        tasks = []
        for i, call in enumerate(calls):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(loop.create_task(self._one(call, due, slots, answers, i)))
        if tasks:
            await asyncio.wait(tasks, timeout=max(0.0, start + len(calls) / rate + grace - loop.time()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._close_idle()
        end = loop.time()
        return [
            answer or Answer(call.name, 0, end - (start + i / rate), end - (start + i / rate), call.expected)
            for i, (call, answer) in enumerate(zip(calls, answers, strict=True))
        ]

    async def _one(self, call: Call, due: float, slots: asyncio.Semaphore, answers: list, i: int) -> None:
        loop = asyncio.get_running_loop()
        late = loop.time() - due
        async with slots:
            status, _ = await self._exchange(call.data)
        answers[i] = Answer(call.name, status, loop.time() - due, late, call.expected)

    async def _closed_loop(
        self, pick: Callable[[int], Call], seconds: float | None, keep_headers: bool, total: int | None = None
    ) -> list[Answer]:
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        answers: dict[int, Answer] = {}
        counter = iter(range(total if total is not None else 1 << 62))

        async def client():
            for n in counter:
                if deadline is not None and loop.time() >= deadline:
                    return
                call = pick(n)
                sent = loop.time()
                status, headers = await self._exchange(call.data)
                answers[n] = Answer(
                    call.name, status, loop.time() - sent, 0.0, call.expected, headers if keep_headers else {}
                )

        await asyncio.gather(*(client() for _ in range(self.connections)))
        self._close_idle()
        return [answers[n] for n in sorted(answers)]

    async def _exchange(self, data: bytes) -> tuple[int, dict[str, str]]:
        """Send one request and read its answer: (status, headers), (0, {}) when none came."""
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    reused = bool(self._idle)
                    connection = self._idle.pop() if reused else await self._connect()
                    try:
                        status, headers, keep = await connection.exchange(data)
                    except ConnectionError as error:
                        connection.close()
                        # A kept-alive connection the server closed meanwhile: try again on a new one.
                        if reused and not error.args:
                            continue
                        return 0, {}
                    except BaseException:
                        connection.close()
                        raise
                    if keep:
                        self._idle.append(connection)
                    else:
                        connection.close()
                    return status, headers
        except (TimeoutError, OSError, ValueError):
            return 0, {}

    async def _connect(self) -> _Connection:
        self.opened += 1
        _, connection = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        return connection

    def _close_idle(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one request at a time: a protocol, not streams, for the fewest objects a call."""

    def __init__(self):
        self.transport = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.ended = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._answered()

    def eof_received(self):
        self.ended = True
        self._answered()

    def connection_lost(self, exc):
        self.ended = True
        self._answered()

    def exchange(self, data: bytes) -> asyncio.Future:
        """The answer's (status, headers, whether the connection stays open); ConnectionError when it closed
        first (with an argument when part of an answer had come)."""
        self.waiter = asyncio.get_running_loop().create_future()
        if self.ended:
            self.waiter.set_exception(ConnectionError())
        else:
            self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _answered(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        try:
            answer = parse_answer(self.buffer, self.ended)
        except ValueError as error:
            self.waiter.set_exception(error)
            return
        if answer is not None:
            status, headers, keep, length = answer
            del self.buffer[:length]
            self.waiter.set_result((status, headers, keep and not self.ended))
        elif self.ended:
            self.waiter.set_exception(ConnectionError("closed mid-answer") if self.buffer else ConnectionError())


def parse_answer(buffer: bytes | bytearray, ended: bool) -> tuple[int, dict[str, str], bool, int] | None:
    """(status, headers, keep-alive, its length in ``buffer``) when ``buffer`` holds a whole answer, else None
    (``ended``: the server closed the connection, so a body without a length is complete)."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    status_line, *lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    version, status = status_line.split(" ", 2)[:2]
    status = int(status)
    headers = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    body = head_end + 4
    if status in (204, 304) or 100 <= status < 200:
        return status, headers, keep, body
    if "content-length" in headers:
        end = body + int(headers["content-length"])
        return (status, headers, keep, end) if len(buffer) >= end else None
    if headers.get("transfer-encoding", "").lower() == "chunked":
        position = body
        while (line_end := buffer.find(b"\r\n", position)) >= 0:
            size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
            position = line_end + 2 + size + 2  # the chunk and its CRLF; the last (empty) one has no trailers here
            if size == 0:
                return (status, headers, keep, position) if len(buffer) >= position else None
        return None
    return (status, headers, False, len(buffer)) if ended else None  # the body runs to the end of the connection


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at or above ``share`` of them."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, min(len(ordered), math.ceil(share * len(ordered) - 1e-9)) - 1)]


def generator_behind(run: Run) -> bool:
    """Whether this process, rather than the server, limited the run: it used most of a core, or it got to the
    calls late and that lateness is much of their time (a server that fills the machine's cores makes the
    generator late too, but then its answers are later still)."""
    late = percentile([answer.late for answer in run.answers], 0.95)
    took = percentile([answer.seconds for answer in run.answers], 0.95)
    return run.cpu_share > CPU_LIMIT or (late > LATE_LIMIT_SECONDS and late >= took / 2)


def wrk(port: int, script: str, *, connections: int, seconds: float, threads: int = 1) -> dict:
    """``wrk``'s closed loop on 127.0.0.1:``port``, its requests made by the Lua ``script``: requests a second, p50
    and p99 in ms, answers that were neither 2xx nor 3xx, and socket errors by kind."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        out = subprocess.run(
            [shutil.which("wrk") or "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
             "-s", lua.name, f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _wrk_ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _wrk_ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True))
        if sockets
        else {},
    }


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 2)
