"""Debian's Chromium driven by Playwright, for the tests that load a page in a real
browser (never a downloaded browser). A test skips when there is no Chromium or no
Playwright, and fails instead when ``CHANGFANG_REQUIRE_BROWSER`` is set (CI)."""

import contextlib
import os
import shutil

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_or_skip():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    why = None
    if exe is None:
        why = "no Chromium on this machine (.ci/run installs Debian's)"
    else:
        try:
            import playwright.sync_api  # noqa: F401  (only whether it is installed)
        except ImportError:
            why = "Playwright for Python is not installed (the [test] extra has it)"
    if why:
        if os.environ.get("CHANGFANG_REQUIRE_BROWSER"):
            pytest.fail(f"CHANGFANG_REQUIRE_BROWSER is set but {why}")
        pytest.skip(why)
    return exe


@contextlib.contextmanager
def chromium():
    """A launched browser."""
    exe = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
