"""A local stand-in for an OpenAI-compatible chat endpoint, scripted reply by reply."""

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# The candidate lines of ranker.external's prompt: "- <key>: <title> — <body>".
CANDIDATE_LINE = re.compile(r"^- ([!-~]+?): ", re.MULTILINE)


class StubEndpoint:
    """Answers each POST with the next scripted reply: (status, content string, delay).

    With no scripted reply left, `default` (if set) answers: it gets the candidate keys the
    request lists and returns the reply's content.
    """

    def __init__(self) -> None:
        self.replies: list[tuple[int, str, float]] = []
        self.requests: list[dict] = []
        self.default: Callable[[list[str]], object] | None = None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if stub.replies:
                    status, content, delay = stub.replies.pop(0)
                else:
                    assert stub.default is not None, "no reply scripted"
                    keys = CANDIDATE_LINE.findall(body["messages"][-1]["content"])
                    status, content, delay = 200, json.dumps(stub.default(keys)), 0.0
                time.sleep(delay)
                payload = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": content}}]}
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def reply(self, content: object, *, status: int = 200, delay: float = 0.0) -> None:
        text = content if isinstance(content, str) else json.dumps(content)
        self.replies.append((status, text, delay))


@pytest.fixture
def stub() -> Iterator[StubEndpoint]:
    endpoint = StubEndpoint()
    thread = threading.Thread(target=endpoint.server.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()
