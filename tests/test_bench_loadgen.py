"""The benchmarks' load generator (bench/loadgen.py) against a small HTTP server in this process: every call
answered and counted once, in order, connections used again only where the server keeps them open, answers read
whole whatever their framing, and no answer counted as a success. No timings are asserted (bench/ measures)."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from loadgen import (  # noqa: E402
    Answer,
    Call,
    Generator,
    Run,
    generator_behind,
    parse_answer,
    percentile,
    request_bytes,
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    keep_alive = True

    def do_GET(self):
        body = self.path.encode()
        status = 404 if self.path.startswith("/missing") else 200
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("ETag", '"v1"')
        if not self.keep_alive:
            self.send_header("Connection", "close")
            self.close_connection = True
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:3], body[3:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Closing(Handler):
    keep_alive = False


@pytest.fixture(params=[Handler, Closing], ids=["kept-alive", "closed"])
def server(request):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def calls(port, paths, headers=None):
    return [Call(path, request_bytes("GET", path, headers or {}, host=f"127.0.0.1:{port}")) for path in paths]


def test_an_open_loop_answers_every_call_once_in_order(server):
    port = server.server_address[1]
    paths = [f"/{'chunked' if i % 3 == 0 else 'plain'}/{i}" for i in range(60)] + ["/missing/1"]
    generator = Generator(port, connections=4)

    run = generator.open_loop(calls(port, paths), rate=400)

    assert [answer.name for answer in run.answers] == paths
    assert [answer.status for answer in run.answers] == [200] * 60 + [404]
    assert [answer.failed for answer in run.answers] == [False] * 60 + [True]
    assert all(answer.seconds >= 0 for answer in run.answers)
    if server.RequestHandlerClass.keep_alive:
        assert generator.opened <= 4
    else:
        assert generator.opened == len(paths)
    assert run.cpu_seconds >= 0


def test_each_returns_the_answers_headers_in_the_calls_order(server):
    port = server.server_address[1]
    paths = [f"/plain/{i}" for i in range(20)]

    first = Generator(port, connections=3).each(calls(port, paths))
    again = Generator(port, connections=3).each(calls(port, paths, {"If-None-Match": first[0].headers["etag"]}))

    assert [answer.name for answer in first] == paths
    assert {answer.headers["etag"] for answer in first} == {'"v1"'}
    assert [answer.status for answer in again] == [304] * 20


def test_a_closed_loop_keeps_sending_until_its_time_is_up(server):
    port = server.server_address[1]
    paths = calls(port, ["/plain/a", "/plain/b"])

    run = Generator(port, connections=2).closed_loop(lambda n: paths[n % 2], seconds=0.3)

    assert run.answers
    assert {answer.status for answer in run.answers} == {200}


def test_no_server_is_no_answer_not_a_success():
    from tests.support.processes import free_port

    port = free_port()
    run = Generator(port, connections=2, timeout=2).open_loop(calls(port, ["/a", "/b"]), rate=100)

    assert [(answer.status, answer.failed) for answer in run.answers] == [(0, True), (0, True)]


def test_an_answer_is_whole_only_when_its_body_is():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert parse_answer(head + b"abc", ended=False) is None
    assert parse_answer(head + b"abcdeHTTP/1.1", ended=False) == (200, {"content-length": "5"}, True, len(head) + 5)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    assert parse_answer(chunked, ended=False) is None
    assert parse_answer(chunked + b"0\r\n\r\n", ended=False)[3] == len(chunked) + 5
    unframed = b"HTTP/1.0 200 OK\r\n\r\nabc"
    assert parse_answer(unframed, ended=False) is None
    assert parse_answer(unframed, ended=True) == (200, {}, False, len(unframed))
    assert parse_answer(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n", ended=False)[:3] == (
        304,
        {"connection": "close"},
        False,
    )


def test_the_percentile_is_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.95) == 0.0


def test_the_generator_is_behind_when_its_lateness_is_much_of_the_time_or_it_uses_most_of_a_core():
    def run(late, took, cpu=0.1):
        return Run([Answer("x", 200, took, late) for _ in range(20)], wall_seconds=1.0, cpu_seconds=cpu)

    assert not generator_behind(run(late=0.001, took=0.004))
    assert generator_behind(run(late=0.020, took=0.025))  # the answers were late because their requests were
    assert not generator_behind(run(late=0.020, took=0.300))  # the server, filling the cores, made both late
    assert generator_behind(run(late=0.001, took=0.004, cpu=0.9))
