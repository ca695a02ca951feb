"""A real browser for tests: Debian's Chromium (/usr/bin/chromium), driven by Playwright for
Python. Nothing downloads a browser: Playwright is only pointed at the installed executable.
Under CI=true a missing browser or driver is a failure, never a skip."""

import os
import shutil
from contextlib import contextmanager

from support.binaries import missing

# As root in a closed network: no sandbox (it needs user namespaces root does not get), no GPU,
# and none of Chromium's background traffic to Google's hosts (refused here, and slow to fail).
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path():
    for path in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _missing(message):
    missing(message + " (scripts/setup-env.sh installs it)")


@contextmanager
def chromium():
    """A launched headless Chromium (a Playwright Browser), closed afterwards."""
    path = chromium_path()
    if path is None:
        _missing("no Chromium at /usr/bin/chromium (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed (requirements-test.txt)")
    with sync_playwright() as playwright:  # a fresh temporary profile per launch
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, **options):
    """A page in a fresh context (its own cookies). CSP is bypassed so that tests may evaluate
    script: the page's own text handling, not the server's CSP, is what the XSS test checks."""
    options.setdefault("viewport", {"width": 1440, "height": 900})
    options.setdefault("timezone_id", "Europe/Berlin")
    context = browser.new_context(bypass_csp=True, **options)
    context.set_default_timeout(20_000)
    return context.new_page()
