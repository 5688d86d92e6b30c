"""A real Covey server on a free port and Debian's Chromium driven by Playwright, for the browser tests
and the screenshots. Without Chromium the browser tests are skipped, with the reason, except under CI
(`CI=true`), where a missing Chromium is a failure."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from covey.app import create_app
from covey.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make dev)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """The real app served by uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def serving(settings: Settings, *, tests: str, missing: str | None) -> Iterator[str]:
    """The live server for a module of `tests`; where they cannot run (`missing` says why), the module is
    skipped, or failed under CI."""
    if missing is not None:
        if IN_CI:
            pytest.fail(f"CI runs the {tests}: {missing}")
        pytest.skip(f"{tests} skipped: {missing}")
    with live_server(settings) as url:
        yield url


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module", name="browser")
def launched_browser(base_url: str) -> Iterator[Any]:
    """`browser`: one Chromium a test module, once the module's live server (`base_url`) runs; a conftest
    that defines `base_url` imports this fixture."""
    with chromium() as launched:
        yield launched


@contextmanager
def tab(browser: Any, *, width: int, height: int) -> Iterator[Any]:
    """A page in a context of its own (no cookies shared with other tests), `width` by `height`."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/admin/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


# axe-core from npm, installed outside the repository by .ci/run (like the single sign-on tests' packages).
PACKAGES = Path(os.environ.get("COVEY_TEST_PACKAGES_DIR", Path.home() / ".cache" / "covey-tests"))
AXE = PACKAGES / "node_modules" / "axe-core" / "axe.min.js"
_AXE_RUN = """async () => {
    const found = await axe.run(document, { resultTypes: ["violations"] });
    return found.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => {
            const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
            return `${v.id} (${v.impact}): ${v.help} at ${where}`;
        });
}"""


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as shown (the page's context must bypass
    the page's CSP, which refuses scripts it did not serve)."""
    page.add_script_tag(path=str(AXE))
    problems: list[str] = page.evaluate(_AXE_RUN)
    return problems
