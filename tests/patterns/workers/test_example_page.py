"""The example page as a person uses it: faults shown in the banner, the pool view."""

from tests.support import browser as b

PAGE = "/web/examples/loading/worker_heartbeat.html?pingInterval=500&pongTimeout=1500&lateTolerance=500"


def wait_state(page, state):
    page.wait_for_function("(s) => document.getElementById('state').textContent === s", arg=state,
                           timeout=b.LOAD_TIMEOUT_MS)


def test_banner_names_each_fault(page, server):
    page.goto(server.origin + PAGE)
    wait_state(page, "ready")
    faults = [
        ("import os\nos._exit(3)", "0", "fatal: Python exited with status 3"),
        ("while True:\n    pass", "1200", "timeout: the task ran past its timeout (1200 ms)"),
        ("import faulthandler\nfaulthandler._sigsegv()", "0", "fatal: Pyodide fatal error"),
    ]
    for code, timeout, expected in faults:
        page.fill("#code", code)
        page.fill("#timeout", timeout)
        page.click("#run")
        page.wait_for_function("(t) => document.getElementById('banner-text').textContent.startsWith(t)",
                               arg=expected.split(":")[0] + ":", timeout=20000)
        banner = page.text_content("#banner-text")
        assert banner.startswith(expected), banner
        page.click("#dismiss")
        wait_state(page, "ready")
    assert "Python state was" in page.text_content("#state-note")


def test_busy_state_shows_elapsed_time(page, server):
    page.goto(server.origin + PAGE + "&progress=1")
    wait_state(page, "ready")
    page.fill("#code", "import time\nstart = time.time()\nwhile time.time() - start < 3:\n    pass")
    page.fill("#timeout", "10000")
    page.click("#run")
    wait_state(page, "busy")
    page.wait_for_function("() => document.getElementById('elapsed').textContent.startsWith('for 1.')", timeout=5000)
    page.wait_for_function("() => document.getElementById('activity').textContent.startsWith('Python running')", timeout=5000)
    wait_state(page, "ready")
    page.wait_for_function("() => document.getElementById('elapsed').textContent === ''", timeout=2000)


def test_pool_view_keeps_serving_while_one_hangs(page, server):
    page.goto(server.origin + "/plain" + PAGE)
    wait_state(page, "ready")
    page.click("#pool-start")
    page.wait_for_function("() => document.querySelectorAll('#pool-members li .light.ready').length === 3",
                           timeout=b.LOAD_TIMEOUT_MS * 2)
    page.click("#pool-hang")
    page.click("#pool-burst")
    page.wait_for_function("() => document.getElementById('pool-done').textContent === '12'", timeout=b.LOAD_TIMEOUT_MS)
    page.wait_for_function("() => document.getElementById('pool-failed').textContent === '1'", timeout=20000)
    page.wait_for_function("() => document.querySelectorAll('#pool-members li .light.ready').length === 3",
                           timeout=b.LOAD_TIMEOUT_MS)

    labels = [item.text_content() for item in page.query_selector_all("#pool-members li")]
    assert len(labels) == 3
    assert any(label.endswith("g4") or label.endswith("g5") or label.endswith("g6") for label in labels), labels
    assert page.text_content("#pool-queue") == "0"
