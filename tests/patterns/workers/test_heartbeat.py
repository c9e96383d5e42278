"""The heartbeat end to end: real Pyodide in headless Chromium, a hang caught and recovered.

Short intervals keep the suite fast; the bound asserted is pingInterval + pongTimeout
plus MARGIN_MS, sized for a loaded 2-core machine.
"""

from tests.support import browser as b

PING_MS = 500
PONG_MS = 1500
MARGIN_MS = 750
FAST = {"pingInterval": PING_MS, "pongTimeout": PONG_MS, "lateTolerance": 500}


def test_healthy_worker_answers_pings(page, server):
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)
    page.wait_for_function("() => sup.stats().pongsReceived >= 3", timeout=10000)

    stats = b.stats(page)
    assert stats["state"] == "ready"
    assert stats["pongsReceived"] >= 3
    assert stats["pingsSent"] - stats["pongsReceived"] <= 1
    assert stats["lastRttMs"] is not None and stats["lastRttMs"] < PONG_MS
    assert b.failures(page) == []
    assert "unresponsive" not in page.evaluate("harness.states()")

    result = b.run(page, "1 + 1")
    assert result["status"] == "resolved"
    assert result["value"] == 2


def test_run_returns_plain_values_and_output(page, server):
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)

    result = b.run(page, "print('hello'); import sys; print('oops', file=sys.stderr)\n{'a': [1, None, 2.5], 'b': 'x'}")
    assert result["status"] == "resolved"
    assert result["value"] == {"a": [1, None, 2.5], "b": "x"}
    assert result["stdout"] == "hello\n"
    assert result["stderr"] == "oops\n"

    awaited = b.run(page, "import asyncio\nawait asyncio.sleep(0.05)\n'awaited'")
    assert awaited["value"] == "awaited"


def test_python_exception_rejects_with_traceback(page, server):
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)

    result = b.run(page, "print('before')\n1 / 0")
    assert result["status"] == "rejected"
    assert result["kind"] == "python"
    assert result["pythonType"] == "ZeroDivisionError"
    assert "ZeroDivisionError: division by zero" in result["traceback"]
    assert 'File "<task>", line 2' in result["traceback"]
    assert "responder.py" not in result["traceback"]
    assert result["code"] == "print('before')\n1 / 0"
    assert result["stdout"] == "before\n"
    assert b.run(page, "2 + 2")["value"] == 4
    assert b.stats(page)["restarts"] == 0


def test_endless_loop_is_hang_and_restarts(page, server):
    # Without cross-origin isolation there is no interrupt buffer: the worker is replaced.
    b.open_harness(page, server.origin, "/plain")
    b.make(page, FAST)
    b.wait_ready(page)
    assert page.evaluate("crossOriginIsolated") is False
    b.run(page, "x = 41")

    code = b.busy_beacon("loop", "pass")
    hang = b.submit(page, code)
    page.wait_for_function("() => sup.state === 'busy' && harness.lastHeard.loop > 0", timeout=5000)
    failure = b.wait_failures(page, 1, timeout=15000)[0]["detail"]
    settled = b.outcome(page, hang)

    assert failure["kind"] == "hang"
    assert failure["recovered"] == "restart"
    assert failure["stateLost"] is True
    assert failure["interruptTried"] is False
    assert failure["generation"] == 1
    detected_after = failure["verdictAt"] - settled["submittedAt"]
    assert detected_after <= PING_MS + PONG_MS + MARGIN_MS, detected_after
    assert settled["status"] == "rejected"
    assert settled["kind"] == "hang"
    assert settled["code"] == code
    assert settled["generation"] == 1
    # The hung worker was terminated, not left running beside the new one.
    b.assert_falls_silent(page, "loop", failure["verdictAt"])

    b.wait_ready(page)
    after = b.run(page, "'x' in globals()")
    assert after["value"] is False
    assert after["generation"] == 2
    assert b.run(page, "6 * 7")["value"] == 42


def test_runaway_recursion_is_caught(page, server):
    # Case C2: a raised recursion limit lets the recursion exhaust the JavaScript stack.
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)
    task = b.submit(page, "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)")
    failure = b.wait_failures(page, 1, timeout=30000)[0]["detail"]
    settled = b.outcome(page, task)

    assert failure["kind"] in ("fatal", "hang"), failure
    assert failure["recovered"] == "restart"
    assert settled["status"] == "rejected"
    assert settled["kind"] == failure["kind"]
    b.wait_ready(page)
    assert b.run(page, "sum(range(10))")["value"] == 45


def test_example_page_banner_and_restart(page, server):
    page.goto(server.origin + "/web/examples/loading/worker_heartbeat.html?pingInterval=500&pongTimeout=1500&lateTolerance=500")
    page.wait_for_function("() => document.getElementById('state').textContent === 'ready'", timeout=b.LOAD_TIMEOUT_MS)
    typed = "print('kept')\n21 * 2"
    page.fill("#code", typed)

    page.click("#hang")
    page.wait_for_selector("#banner:not([hidden])", timeout=15000)
    banner = page.text_content("#banner-text")
    assert banner.startswith("hang:")
    page.wait_for_function("() => document.getElementById('state').textContent === 'ready'", timeout=b.LOAD_TIMEOUT_MS)

    before = page.evaluate("() => window.pageSupervisor.stats().generation")
    page.click("#restart")
    page.wait_for_function("(g) => window.pageSupervisor.stats().generation > g", arg=before, timeout=b.LOAD_TIMEOUT_MS)
    page.wait_for_function("() => document.getElementById('state').textContent === 'ready'", timeout=b.LOAD_TIMEOUT_MS)
    assert page.input_value("#code") == typed
    page.click("#run")
    page.wait_for_function("() => document.getElementById('output').textContent.includes('42')", timeout=10000)
    assert "kept" in page.text_content("#output")


def test_invalid_options_throw_native_errors(page, server):
    b.open_harness(page, server.origin)
    cases = {
        "{pingInterval: 2000, pongTimeout: 1000}": "RangeError: option pongTimeout must be greater than pingInterval (2000), got 1000",
        "{pingInterval: 'fast'}": 'TypeError: option pingInterval must be a finite number, got "fast"',
        "{pingIntreval: 100}": "TypeError: unknown option pingIntreval; valid options are ",
        "{interrupt: 'yes'}": 'TypeError: option interrupt must be one of "auto", true or false, got "yes"',
        "{maxRestarts: 1.5}": "TypeError: option maxRestarts must be an integer, got 1.5",
        "'fast'": 'TypeError: options must be an object, got "fast"',
    }
    for options, expected in cases.items():
        thrown = page.evaluate("() => { try { new harness.Supervisor(" + options + "); return 'no error'; }"
                               " catch (e) { return e.name + ': ' + e.message; } }")
        assert thrown.startswith(expected), (options, thrown)


def test_phi_detector_catches_idle_silence_sooner(page, server):
    # An idle worker blocked below Python by a timer callback: the phi detector, fitted to
    # regular pongs, judges it before the fixed rule's pongTimeout would.
    b.open_harness(page, server.origin)
    b.make(page, {**FAST, "pongTimeout": 4000, "detector": "phi"})
    b.wait_ready(page)
    page.wait_for_function("() => sup.stats().pongsReceived >= 6", timeout=10000)
    code = ("from js import setTimeout, Atomics, Int32Array, SharedArrayBuffer\n"
            "from pyodide.ffi import create_once_callable\n"
            "setTimeout(create_once_callable(lambda: Atomics.wait(Int32Array.new(SharedArrayBuffer.new(4)), 0, 0)), 100)")
    assert b.run(page, code)["status"] == "resolved"
    blocked_at = b.now(page) + 100
    failure = b.wait_failures(page, 1, timeout=15000)[0]["detail"]

    assert failure["kind"] == "hang"
    assert "phi above 8" in failure["message"]
    assert failure["verdictAt"] - blocked_at < PING_MS + 4000
