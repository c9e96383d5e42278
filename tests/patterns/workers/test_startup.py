"""Startup: load failures classified fast, slow downloads tolerated, restarts bounded.

Playwright's routes catch the requests a module worker makes (checked: the route
handlers below count them), so a test can answer 404 for any Pyodide file.
"""

import pytest

from tests.support import browser as b

FAST = {"pingInterval": 500, "pongTimeout": 1500, "lateTolerance": 500}
# A load failure that is seen (an error event, an HTTP error) must not wait for a deadline.
FAST_FAILURE_MS = 5000


def missing(context, pattern):
    """Answer 404 for every request matching pattern; return the list of matched URLs."""
    seen = []

    def handler(route):
        seen.append(route.request.url)
        route.fulfill(status=404, body="not found")

    context.route(pattern, handler)
    return seen


@pytest.mark.parametrize(
    "file_name, expected",
    [
        ("pyodide.asm.wasm", "pyodide.asm.wasm answered HTTP 404"),
        ("python_stdlib.zip", "python_stdlib.zip answered HTTP 404"),
        ("pyodide.mjs", "pyodide.mjs answered HTTP 404"),
        ("worker.mjs", "worker.mjs answered HTTP 404"),
    ],
)
def test_missing_file_fails_fast_as_load(page, context, server, file_name, expected):
    seen = missing(context, "**/" + file_name)
    b.open_harness(page, server.origin)
    started = b.now(page)
    b.make(page, {**FAST, "maxRestarts": 0})
    failure = b.wait_failures(page, 1, timeout=20000)[0]

    assert len(seen) >= 1, "the route never matched " + file_name
    assert failure["detail"]["kind"] == "load"
    assert expected in failure["detail"]["message"]
    assert server.origin in failure["detail"]["message"]
    assert failure["at"] - started < FAST_FAILURE_MS
    assert failure["detail"]["recovered"] is None
    assert page.evaluate("sup.state") == "failed"


def test_worker_script_syntax_error_is_load(page, context, server):
    context.route("**/web/worker.mjs", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body="export const x = ;\n"))
    b.open_harness(page, server.origin)
    b.make(page, {**FAST, "maxRestarts": 0})
    failure = b.wait_failures(page, 1, timeout=20000)[0]["detail"]
    assert failure["kind"] == "load"
    assert "worker.mjs" in failure["message"]
    assert "SyntaxError" in failure["message"] or "failed" in failure["message"]


def test_worker_script_throwing_at_top_level_is_load(page, context, server):
    context.route("**/web/worker.mjs", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body="throw new Error('broken bootstrap');\n"))
    b.open_harness(page, server.origin)
    b.make(page, {**FAST, "maxRestarts": 0})
    failure = b.wait_failures(page, 1, timeout=20000)[0]["detail"]
    assert failure["kind"] == "load"
    # Chromium passes no message for a module worker's top-level exception.
    assert "worker.mjs loaded but failed while evaluating" in failure["message"]


def test_setup_code_raising_is_load(page, server):
    b.open_harness(page, server.origin)
    b.make(page, {**FAST, "maxRestarts": 0, "setupCode": "raise RuntimeError('setup broke')"})
    failure = b.wait_failures(page, 1, timeout=b.LOAD_TIMEOUT_MS)[0]["detail"]
    assert failure["kind"] == "load"
    assert "setup broke" in failure["message"]
    assert page.evaluate("sup.state") == "failed"


def test_setup_code_runs_on_every_fresh_worker(page, server):
    b.open_harness(page, server.origin, "/plain")
    b.make(page, {**FAST, "setupCode": "import math\nGREETING = 'hi'"})
    b.wait_ready(page)
    assert b.run(page, "GREETING + str(math.floor(2.5))")["value"] == "hi2"
    page.evaluate("sup.restart()")
    page.wait_for_function("() => sup.stats().generation === 2 && sup.state === 'ready'", timeout=b.LOAD_TIMEOUT_MS)
    assert b.run(page, "GREETING")["value"] == "hi"


def test_startup_deadline_is_load(page, context, server):
    # The wasm download never completes: without a deadline the worker would start forever.
    context.route("**/pyodide.asm.wasm", lambda route: None)
    b.open_harness(page, server.origin)
    b.make(page, {**FAST, "startupTimeout": 3000, "maxRestarts": 0})
    failure = b.wait_failures(page, 1, timeout=20000)[0]
    detail = failure["detail"]
    assert detail["kind"] == "load"
    assert "startupTimeout (3000 ms)" in detail["message"]
    assert b.stats(page)["pingsSent"] == 0


def test_slow_wasm_download_is_not_a_hang(page, server):
    # Case C6: the wasm arrives 6 s late while pongTimeout is 5 s.
    b.open_harness(page, server.origin)
    started = b.now(page)
    b.make(page, {"pingInterval": 2000, "pongTimeout": 5000, "indexURL": "/delay/6000/web/pyodide/"})
    b.wait_ready(page)
    ready_after = b.now(page) - started

    assert ready_after >= 6000, "the delay did not hold back the download"
    assert b.failures(page) == []
    assert b.run(page, "3 * 3")["value"] == 9


def test_broken_worker_url_ends_failed(page, context, server):
    seen = missing(context, "**/no-such-worker.mjs")
    b.open_harness(page, server.origin)
    options = {**FAST, "workerUrl": "/no-such-worker.mjs", "maxRestarts": 3, "restartWindow": 60000,
               "backoffInitial": 100, "backoffMax": 400}
    b.make(page, options)
    page.wait_for_function("() => sup.state === 'failed'", timeout=30000)
    failures = b.failures(page)
    task = b.run(page, "1 + 1")

    assert len(failures) == 4
    assert [f["detail"]["recovered"] for f in failures] == ["restart", "restart", "restart", None]
    assert "restart limit reached" in failures[-1]["detail"]["message"]
    assert len(seen) <= 2 * 4, "more start attempts than the budget allows"
    assert task["status"] == "rejected"
    assert task["kind"] == "failed"
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(failures, failures[1:])]
    assert gaps[0] < 100 + 500, gaps
    assert gaps[2] >= 200, gaps
    # Once failed, the supervisor starts nothing more.
    stable = b.stats(page)["restarts"]
    page.wait_for_timeout(1000)
    assert b.stats(page)["restarts"] == stable


def test_restart_after_failed_starts_again(page, context, server):
    seen = missing(context, "**/pyodide.asm.wasm")
    b.open_harness(page, server.origin)
    b.make(page, {**FAST, "maxRestarts": 0})
    page.wait_for_function("() => sup.state === 'failed'", timeout=20000)
    assert len(seen) == 1
    context.unroute("**/pyodide.asm.wasm")
    page.evaluate("sup.restart()")
    b.wait_ready(page)
    assert b.run(page, "'back'")["value"] == "back"
