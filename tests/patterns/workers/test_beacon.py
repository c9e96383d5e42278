"""The progress beacon: busy running Python told apart from stuck below Python, at once."""

from tests.support import browser as b

STUCK_MS = 1500
MARGIN_MS = 500
BEACON = {"pingInterval": 2000, "pongTimeout": 5000, "progress": True, "stuckTimeout": STUCK_MS}


def start(page, server, prefix="", **options):
    b.open_harness(page, server.origin, prefix)
    b.make(page, {**BEACON, **options})
    b.wait_ready(page)


def test_long_computation_shows_progress(page, server):
    start(page, server)
    code = "import time\nstart = time.time()\ntotal = 0\nwhile time.time() - start < 10:\n    total += 1\n'done'"
    task = b.submit(page, code, {"timeout": 20000})
    rates = []
    for _ in range(8):
        page.wait_for_timeout(1000)
        rates.append(b.stats(page)["progressRate"])
    settled = b.outcome(page, task, timeout=20000)

    assert settled["status"] == "resolved"
    assert settled["value"] == "done"
    assert b.failures(page) == []
    assert all(rate is not None and rate > 1000 for rate in rates), rates
    assert b.stats(page)["members"][0]["interruptible"] is True


def test_atomics_wait_is_stuck_at_once(page, server):
    start(page, server)
    code = "from js import Atomics, Int32Array, SharedArrayBuffer\nAtomics.wait(Int32Array.new(SharedArrayBuffer.new(4)), 0, 0, 60000)"
    task = b.submit(page, code, {"timeout": 60000})
    page.wait_for_function("() => sup.state === 'busy'", timeout=5000)
    failure = b.wait_failures(page, 1, timeout=15000)[0]["detail"]
    settled = b.outcome(page, task)
    judged_after = failure["verdictAt"] - settled["submittedAt"]

    assert failure["kind"] == "hang"
    assert failure["stuck"] is True
    assert failure["pythonRunning"] is False
    # The interrupt cannot be delivered below Python, so it is not tried.
    assert failure["interruptTried"] is False
    assert failure["recovered"] == "restart"
    assert judged_after <= STUCK_MS + MARGIN_MS, judged_after
    assert settled["kind"] == "hang"


def test_sleep_is_not_stuck(page, server):
    # time.sleep() suspends in Pyodide 314: the counter stands still but pings are answered.
    start(page, server)
    settled = b.run(page, "import time\ntime.sleep(4)\n'rested'", {"timeout": 20000}, timeout=20000)
    assert settled["value"] == "rested"
    assert b.failures(page) == []


def test_interrupt_still_works_with_beacon(page, server):
    start(page, server, pingInterval=500, pongTimeout=1500, lateTolerance=500)
    b.run(page, "x = 41")
    hang = b.run(page, "while True:\n    pass", timeout=15000)
    failure = b.failures(page)[0]["detail"]

    assert hang["kind"] == "interrupted"
    assert failure["recovered"] == "interrupt"
    assert failure["pythonRunning"] is True
    assert b.run(page, "x + 1")["value"] == 42


def test_hang_verdict_says_python_was_running(page, server):
    start(page, server, "/plain", pingInterval=500, pongTimeout=1500, lateTolerance=500)
    b.run(page, "while True:\n    pass", timeout=15000)
    failure = b.failures(page)[0]["detail"]
    # Without isolation there is no shared memory: the beacon is off and says so.
    assert failure["pythonRunning"] is None
    assert b.stats(page)["progressRate"] is None
