"""The extension itself, loaded in headless Chromium, against a stub backend.

The stub serves a saved helpdesk page, a stand-in for the agent panel and the REST endpoints,
and records every API call, so these tests see exactly what the extension sends: the messages
it read (under their page ids, with the token), or nothing at all when it cannot read the page.
Chrome cannot open a real side panel headless, so sidepanel.html is opened as a tab pinned to
the helpdesk tab (?tab=ID); it is the same page the side panel shows.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.extension.browser import configure, fixture, launch_with_extension, tab_id

pytestmark = pytest.mark.slow

TOKEN = "stub-token-123"
STUB_PANEL = """<!doctype html><title>stub panel</title><body><script>
window.addEventListener("message", (e) => {
  if (e.source === window.parent && e.data.type === "assist:auth") {
    fetch("/stub/auth", {method: "POST", body: e.data.token});
  }
});
window.pick = (text) => window.parent.postMessage(
  {type: "assist:pick", conversation: 7, key: "card.delivery", text}, "*");
window.parent.postMessage({type: "assist:panel-ready"}, "*");
</script></body>"""


class Stub:
    def __init__(self, page: str) -> None:
        self.page = page
        self.calls: list[tuple[str, str, dict | str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: str, kind: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.startswith("/demo/helpdesk/"):
                    self._send(200, stub.page, "text/html")
                elif self.path.startswith("/panel/"):
                    stub.calls.append(("GET", self.path, "", ""))
                    self._send(200, STUB_PANEL, "text/html")
                else:
                    self._send(404, "{}")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                body = raw if self.path == "/stub/auth" else json.loads(raw or "{}")
                auth = self.headers.get("Authorization", "")
                stub.calls.append(("POST", self.path, body, auth))
                if self.path == "/api/conversations":
                    self._send(201, json.dumps({"id": 7, "external_id": body["external_id"]}))
                elif self.path == "/api/conversations/7/messages":
                    self._send(201, json.dumps({"id": 1, "client_id": body["client_id"]}))
                else:
                    self._send(204, "")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def api_calls(self) -> list:
        return [c for c in self.calls if c[1].startswith("/api/")]


@pytest.fixture
def stub():
    servers = []

    def make(page_name: str) -> Stub:
        servers.append(Stub(fixture(page_name)))
        return servers[-1]

    yield make
    for server in servers:
        server.server.shutdown()


def test_reads_the_page_sends_its_messages_and_inserts_a_pick(stub, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    backend = stub("demo_helpdesk.html")
    with sync_playwright() as p:
        context, worker, extension_id = launch_with_extension(p, tmp_path / "profile")
        configure(context, extension_id, backend=backend.base, token=TOKEN)
        helpdesk = context.new_page()
        helpdesk.goto(f"{backend.base}/demo/helpdesk/?c=12")
        helpdesk.wait_for_function("document.querySelector('#hd-reply')")

        panel = context.new_page()
        tab = tab_id(worker, f"{backend.base}/demo/helpdesk/")
        panel.goto(f"chrome-extension://{extension_id}/sidepanel.html?tab={tab}")
        frame = panel.frame_locator("#panel")
        expect(frame.locator("body")).to_be_attached(timeout=10_000)
        # A locator assertion, not wait_for_function: an extension page's CSP refuses the
        # string evaluation that polling a function expression needs.
        expect(panel.locator("#panel")).to_have_attribute(
            "src", re.compile(r"conversation=7"), timeout=10_000
        )
        expect(panel.locator("#notice")).to_have_text("")

        # The token went to the panel by postMessage, never in its URL.
        helpdesk.wait_for_timeout(300)
        assert ("POST", "/stub/auth", TOKEN, "") in backend.calls
        panel_urls = [c[1] for c in backend.calls if c[1].startswith("/panel/")]
        assert panel_urls == ["/panel/?conversation=7&embed=1"]

        helpdesk.locator("#hd-reply").press("End")  # the agent's cursor: after "Dear Jo, "
        panel.frames[1].evaluate("pick('Your card is on its way. ')")
        expect(panel.locator("#result")).to_contain_text("Inserted", timeout=10_000)
        assert helpdesk.input_value("#hd-reply") == "Dear Jo, Your card is on its way. "
        context.close()

    calls = backend.api_calls()
    assert calls[0] == (
        "POST",
        "/api/conversations",
        {"external_id": "demo-3fa2c1d0e9b8", "channel": "demo", "customer_name": "Jo Park"},
        f"Token {TOKEN}",
    )
    sent = [(c[2]["client_id"], c[2]["role"]) for c in calls[1:]]
    assert sent == [
        ("6f1c1b8e-0c1e-4b7e-9d1a-1f9a4a0c2b11", "customer"),
        ("0b8a3c57-7e0f-4f5b-a1e2-4c1d9b7f3e22", "agent"),
        ("a7d4e2f1-3b6c-4d8e-9f0a-5b2c1d3e4f33", "customer"),
    ]
    assert all(c[3] == f"Token {TOKEN}" for c in calls)


def test_a_page_it_cannot_read_sends_nothing_and_says_so(stub, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    backend = stub("demo_helpdesk_broken.html")
    with sync_playwright() as p:
        context, worker, extension_id = launch_with_extension(p, tmp_path / "profile")
        configure(context, extension_id, backend=backend.base, token=TOKEN)
        helpdesk = context.new_page()
        helpdesk.goto(f"{backend.base}/demo/helpdesk/?c=12")
        panel = context.new_page()
        tab = tab_id(worker, f"{backend.base}/demo/helpdesk/")
        panel.goto(f"chrome-extension://{extension_id}/sidepanel.html?tab={tab}")
        expect(panel.locator("#notice")).to_have_text(
            "Cannot read the conversation on this page: "
            "message 2 matches neither of the role selectors.",
            timeout=10_000,
        )
        expect(panel.locator("#panel")).to_be_hidden()
        badge = worker.evaluate("(tabId) => chrome.action.getBadgeText({tabId})", tab)
        assert badge == "!"
        context.close()

    assert backend.api_calls() == []
    assert not any(c[1].startswith("/panel/") for c in backend.calls)
