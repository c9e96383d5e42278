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


def busy_beacon(label, body):
    """Python that runs `body` forever and posts `label` on the liveness channel as it goes.

    The posts need no event loop in the worker, so they keep coming while it is blocked
    and stop only when the worker is terminated.
    """
    return ("import js, time\nchannel = js.BroadcastChannel.new('liveness')\ndue = 0\nwhile True:\n"
            "    moment = time.monotonic()\n    if moment >= due:\n        channel.postMessage('" + label + "')\n"
            "        due = moment + 0.05\n    " + body + "\n")


def heard_after(page, label, at):
    """Whether the liveness channel carried `label` after page time `at`."""
    return page.evaluate("([label, at]) => (harness.lastHeard[label] || 0) > at", [label, at])


# Chromium 156 takes up to about 2 s to stop a worker that is spinning in wasm after
# terminate(); a worker blocked in time.sleep() or Atomics.wait stops at once.
TERMINATION_GRACE_MS = 4000


def assert_falls_silent(page, label, after, grace_ms=TERMINATION_GRACE_MS):
    """Assert that the worker posting `label` stopped within grace_ms of page time `after`."""
    quiet_for = 1000

    def quiet():
        return page.evaluate("([label, ms]) => performance.now() - (harness.lastHeard[label] || 0) > ms", [label, quiet_for])

    poll(quiet, (grace_ms + quiet_for + 3000) / 1000, 0.1, label + " falling silent")
    last = page.evaluate("(label) => harness.lastHeard[label] || 0", label)
    assert last - after <= grace_ms, label + " kept posting " + str(round(last - after)) + " ms after it was terminated"


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
