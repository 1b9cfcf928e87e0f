"""Chromium helpers for the extension's tests: the adapters on a page, the extension loaded."""

import json
from pathlib import Path

from tests.live import CHROMIUM, CHROMIUM_ARGS, ROOT

EXTENSION = ROOT / "static" / "extension"
ADAPTERS = [EXTENSION / "adapters" / name for name in ("core.js", "demo.js", "generic.js")]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def acme_site() -> dict:
    return json.loads(fixture("acme_site.json"))


def launch_with_extension(playwright, user_data_dir: Path):
    """A persistent context with the unpacked extension loaded and its service worker."""
    context = playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            f"--disable-extensions-except={EXTENSION}",
            f"--load-extension={EXTENSION}",
        ],
    )
    worker = next(
        (w for w in context.service_workers if w.url.startswith("chrome-extension://")), None
    ) or context.wait_for_event("serviceworker", timeout=15_000)
    return context, worker, worker.url.split("/")[2]


def configure(context, extension_id: str, *, backend: str, token: str, sites=()) -> None:
    """Settings as the options page stores them (chrome.storage.local)."""
    page = context.new_page()
    page.goto(f"chrome-extension://{extension_id}/options.html")
    page.evaluate(
        "s => chrome.storage.local.set(s)",
        {"backendUrl": backend, "token": token, "sites": list(sites)},
    )
    page.close()


def tab_id(worker, url_prefix: str) -> int:
    """The browser's id of the tab showing `url_prefix` (the side panel follows one tab)."""
    return worker.evaluate(
        """async (prefix) => {
            const tabs = await chrome.tabs.query({});
            return tabs.find((t) => (t.url || '').startsWith(prefix)).id;
        }""",
        url_prefix,
    )
