"""Fixtures for the browser tests: one server per session, one browser per module, a page
per test, with the page's console printed when a test fails."""

import pytest

from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH
from tests.support.lifecycle import unemulated_chromium
from tests.support.server import Server


@pytest.fixture(scope="session")
def server():
    with Server() as running:
        yield running


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright_instance):
    launched = playwright_instance.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture
def context(browser):
    created = browser.new_context()
    yield created
    created.close()


@pytest.fixture
def console_lines():
    return []


@pytest.fixture
def page(request, context, console_lines):
    opened = context.new_page()
    opened.on("console", lambda message: console_lines.append(message.type + ": " + message.text))
    opened.on("pageerror", lambda error: console_lines.append("pageerror: " + str(error)))
    yield opened
    if getattr(request.node, "failed_call", False):
        print("\n--- browser console ---")
        for line in console_lines[-200:]:
            print(line)


@pytest.fixture
def lifecycle_page(request, playwright_instance, console_lines):
    """A page that can really be hidden and frozen, in a Chromium of its own (see lifecycle.py)."""
    with unemulated_chromium(playwright_instance) as controlled:
        opened = controlled.page
        opened.on("console", lambda message: console_lines.append(message.type + ": " + message.text))
        opened.on("pageerror", lambda error: console_lines.append("pageerror: " + str(error)))
        yield controlled
        if getattr(request.node, "failed_call", False):
            print("\n--- browser console ---")
            for line in console_lines[-200:]:
                print(line)
