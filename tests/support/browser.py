"""Browser launch settings and polling helpers shared by the tests, the demo and the bench."""

import json
import time

CHROMIUM_PATH = "/usr/bin/chromium"

# Debian's Chromium run as root in a container with no display and no outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Loading Pyodide takes 2 to 4 s here; on a loaded 2-core machine allow far more.
LOAD_TIMEOUT_MS = 60000


def open_harness(page, origin, prefix=""):
    """Open the test harness page under a header mode prefix ("", "/plain" or "/csp")."""
    page.goto(origin + prefix + "/tests/pages/blank.html")
    page.wait_for_function("() => window.harness !== undefined", timeout=10000)


def make(page, options, kind="supervisor"):
    page.evaluate("([kind, options]) => { harness.make(kind, options); }", [kind, options])


def wait_ready(page, timeout=LOAD_TIMEOUT_MS):
    page.wait_for_function("() => sup.state === 'ready'", timeout=timeout)


def submit(page, code, options=None):
    return page.evaluate("([code, options]) => harness.submit(code, options)", [code, options])


def outcome(page, task_id, timeout=30000):
    """Wait until the task settles and return its outcome."""
    page.wait_for_function("(id) => harness.outcomes[id].status !== 'pending'", arg=task_id, timeout=timeout)
    return page.evaluate("(id) => harness.outcomes[id]", task_id)


def run(page, code, options=None, timeout=30000):
    return outcome(page, submit(page, code, options), timeout)


def stats(page):
    return page.evaluate("() => sup.stats()")


def failures(page):
    return page.evaluate("() => harness.failures()")


def wait_failures(page, count, timeout=30000):
    page.wait_for_function("(n) => harness.failures().length >= n", arg=count, timeout=timeout)
    return failures(page)


def now(page):
    return page.evaluate("() => performance.now()")


def poll(condition, timeout_s, interval_s=0.05, message="condition"):
    """Call condition() until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message + " not met within " + str(timeout_s) + " s")
        time.sleep(interval_s)


def dump(value):
    return json.dumps(value, indent=1, sort_keys=True)
