"""The recovery ladder: soft interrupt, hot spare, cold restart; task deadlines; nothing lost.

Pages under "" are cross-origin isolated (an interrupt buffer exists); under "/plain"
they are not, so every verdict restarts the worker.
"""

from tests.support import browser as b

PING_MS = 500
PONG_MS = 1500
MARGIN_MS = 750
FAST = {"pingInterval": PING_MS, "pongTimeout": PONG_MS, "lateTolerance": 500, "interruptGrace": 1500}

SWALLOWING_LOOP = """
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
"""


def start(page, server, prefix="", **options):
    b.open_harness(page, server.origin, prefix)
    b.make(page, {**FAST, **options})
    b.wait_ready(page)


def test_interrupt_keeps_python_state(page, server):
    start(page, server)
    assert page.evaluate("crossOriginIsolated") is True
    assert b.run(page, "x = 41")["status"] == "resolved"
    hang = b.run(page, "while True:\n    pass", timeout=15000)
    failure = b.failures(page)[0]["detail"]

    assert hang["status"] == "rejected"
    assert hang["kind"] == "interrupted"
    assert hang["pythonType"] == "KeyboardInterrupt"
    assert hang["code"] == "while True:\n    pass"
    assert failure["kind"] == "hang"
    assert failure["recovered"] == "interrupt"
    assert failure["stateLost"] is False
    assert b.run(page, "x + 1")["value"] == 42
    assert b.stats(page)["generation"] == 1
    assert b.stats(page)["restarts"] == 0


def test_without_isolation_restart_loses_state(page, server):
    start(page, server, "/plain")
    assert page.evaluate("crossOriginIsolated") is False
    b.run(page, "x = 41")
    hang = b.run(page, "while True:\n    pass", timeout=15000)
    failure = b.failures(page)[0]["detail"]
    b.wait_ready(page)
    lost = b.run(page, "x + 1")

    assert hang["kind"] == "hang"
    assert failure["recovered"] == "restart"
    assert failure["stateLost"] is True
    assert failure["interruptTried"] is False
    assert lost["kind"] == "python"
    assert lost["pythonType"] == "NameError"


def test_sleep_loop_escalates_case_c7(page, server):
    # In Pyodide 314, time.sleep() suspends and the worker keeps answering pings, so only a
    # task deadline ends this loop; the interrupt is not delivered while it sleeps.
    start(page, server)
    task = b.submit(page, "import time\nwhile True:\n    time.sleep(0.5)", {"timeout": 2000})
    settled = b.outcome(page, task, timeout=20000)
    failure = b.failures(page)[0]

    assert failure["detail"]["kind"] == "timeout"
    assert failure["detail"]["interruptTried"] is True
    assert failure["detail"]["recovered"] == "restart"
    assert "interrupt did not take" in failure["detail"]["message"]
    assert failure["at"] - failure["detail"]["verdictAt"] >= FAST["interruptGrace"]
    assert settled["kind"] == "timeout"
    b.wait_ready(page)
    assert b.run(page, "2 ** 5")["value"] == 32


def test_swallowed_interrupt_escalates_case_c14(page, server):
    start(page, server)
    hang = b.run(page, SWALLOWING_LOOP, timeout=20000)
    failure = b.failures(page)[0]["detail"]

    assert failure["interruptTried"] is True
    assert failure["recovered"] == "restart"
    assert "interrupt did not take" in failure["message"]
    assert hang["kind"] == "hang"
    assert hang["code"] == SWALLOWING_LOOP


def test_atomics_wait_escalates(page, server):
    # Blocked below Python, the interrupt cannot land until the wait ends (60 s here).
    start(page, server)
    code = "from js import Atomics, Int32Array, SharedArrayBuffer\nAtomics.wait(Int32Array.new(SharedArrayBuffer.new(4)), 0, 0, 60000)"
    hang = b.run(page, code, timeout=20000)
    failure = b.failures(page)[0]["detail"]

    assert failure["interruptTried"] is True
    assert failure["recovered"] == "restart"
    assert hang["kind"] == "hang"


def test_task_deadline_outlives_heartbeat(page, server):
    # A 3 s computation with a 6 s deadline is not condemned by the 1.5 s pongTimeout.
    start(page, server, "/plain")
    code = "import time\nstart = time.time()\nwhile time.time() - start < 3:\n    pass\n'finished'"
    task = b.submit(page, code, {"timeout": 6000})
    page.wait_for_function("() => sup.state === 'busy' && sup.stats().busyForMs > 1000", timeout=5000)
    busy_stats = b.stats(page)
    settled = b.outcome(page, task)

    assert busy_stats["busyForMs"] > 1000
    assert settled["status"] == "resolved"
    assert settled["value"] == "finished"
    assert b.failures(page) == []


def test_task_deadline_passing_is_timeout(page, server):
    start(page, server, "/plain")
    task = b.submit(page, "while True:\n    pass", {"timeout": 2500})
    settled = b.outcome(page, task, timeout=15000)
    failure = b.failures(page)[0]["detail"]
    elapsed = failure["verdictAt"] - settled["submittedAt"]

    assert failure["kind"] == "timeout"
    assert settled["kind"] == "timeout"
    # Judged by the task's deadline, not by the heartbeat's 2 s bound.
    assert elapsed >= 2500
    assert elapsed <= 2500 + MARGIN_MS


def test_hot_spare_takes_over(page, server):
    start(page, server, "/plain", hotSpare=True)
    page.wait_for_function("() => sup.stats().members[0].spareReady", timeout=b.LOAD_TIMEOUT_MS)
    hang = b.submit(page, "while True:\n    pass")
    after = b.submit(page, "'on the spare'")
    settled = b.outcome(page, after, timeout=15000)
    failure = b.failures(page)[0]["detail"]

    assert b.outcome(page, hang)["kind"] == "hang"
    assert failure["recovered"] == "spare"
    assert failure["stateLost"] is True
    assert settled["value"] == "on the spare"
    assert settled["generation"] == 2
    assert settled["at"] - failure["verdictAt"] < 500
    # A new spare loads in the background.
    page.wait_for_function("() => sup.stats().members[0].spareReady", timeout=b.LOAD_TIMEOUT_MS)
    assert b.stats(page)["generation"] == 2


def test_tasks_around_a_crash_all_settle(page, server):
    start(page, server)
    codes = ["{} * 10".format(i) for i in range(4)] + ["import os\nos._exit(1)"] + ["{} * 10".format(i) for i in range(5, 10)]
    ids = [b.submit(page, code) for code in codes]
    outcomes = [b.outcome(page, task_id, timeout=b.LOAD_TIMEOUT_MS) for task_id in ids]

    for i, settled in enumerate(outcomes):
        assert settled["status"] != "pending"
        if i == 4:
            assert settled["status"] == "rejected"
            assert settled["kind"] == "fatal"
            assert settled["code"] == codes[4]
        else:
            assert settled["status"] == "resolved", settled
            assert settled["value"] == i * 10
    assert {o["generation"] for o in outcomes[:4]} == {1}
    assert {o["generation"] for o in outcomes[5:]} == {2}


def test_retries_complete_a_lost_task(page, context, server):
    # The first attempt kills its worker; the retry on a fresh worker completes.
    attempts = []

    def answer(route):
        attempts.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="crash" if len(attempts) == 1 else "ok")

    context.route("**/attempt", answer)
    start(page, server, retries=1)
    code = "from js import fetch\nreply = await (await fetch('/attempt')).text()\nif reply == 'crash':\n    import os\n    os._exit(1)\nreply"
    settled = b.run(page, code, timeout=b.LOAD_TIMEOUT_MS)

    assert len(attempts) == 2
    assert b.failures(page)[0]["detail"]["kind"] == "fatal"
    assert settled["status"] == "resolved"
    assert settled["value"] == "ok"
    assert settled["generation"] == 2


def test_tasks_queued_during_startup_run_in_order(page, server):
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    assert page.evaluate("sup.state") == "starting"
    ids = [b.submit(page, "order = globals().setdefault('order', [])\norder.append({})\nlist(order)".format(i)) for i in range(3)]
    outcomes = [b.outcome(page, task_id, timeout=b.LOAD_TIMEOUT_MS) for task_id in ids]

    assert [o["value"] for o in outcomes] == [[0], [0, 1], [0, 1, 2]]


def test_stop_settles_every_task(page, server):
    start(page, server)
    running = b.submit(page, b.busy_beacon("stopped", "pass"))
    queued = [b.submit(page, "1") for _ in range(3)]
    page.wait_for_function("() => sup.state === 'busy' && harness.lastHeard.stopped > 0", timeout=5000)
    stopped_at = b.now(page)
    page.evaluate("sup.stop()")
    outcomes = [b.outcome(page, task_id, timeout=5000) for task_id in [running] + queued]
    late = b.run(page, "2", timeout=5000)

    assert [o["kind"] for o in outcomes] == ["stopped"] * 4
    assert late["kind"] == "stopped"
    assert page.evaluate("sup.state") == "stopped"
    b.assert_falls_silent(page, "stopped", stopped_at)


def test_manual_interrupt_button_path(page, server):
    start(page, server)
    task = b.submit(page, "import time\nstart = time.time()\nwhile time.time() - start < 30:\n    pass", {"timeout": 60000})
    page.wait_for_function("() => sup.state === 'busy'", timeout=5000)
    assert page.evaluate("sup.interrupt()") is True
    settled = b.outcome(page, task, timeout=5000)

    assert settled["kind"] == "interrupted"
    assert b.failures(page) == []
    assert b.run(page, "'alive'")["generation"] == 1


def test_manual_interrupt_of_sleep_still_settles(page, server):
    # Pyodide 314 holds SIGINT through time.sleep() and can deliver it to its own event loop
    # instead of the task, which then never finishes; the task's timeout still settles it.
    start(page, server)
    task = b.submit(page, "import time\nfor i in range(6):\n    time.sleep(0.5)\n'slept'", {"timeout": 5000})
    page.wait_for_function("() => sup.state === 'busy'", timeout=5000)
    assert page.evaluate("sup.interrupt()") is True
    settled = b.outcome(page, task, timeout=20000)

    assert settled["status"] in ("resolved", "rejected")
    if settled["status"] == "rejected":
        assert settled["kind"] in ("timeout", "interrupted"), settled
    b.wait_ready(page)
    assert b.run(page, "'next'")["value"] == "next"


def test_interrupted_rejection_names_verdict(page, server):
    start(page, server)
    settled = b.run(page, "while True:\n    pass", {"timeout": 1500}, timeout=15000)
    assert settled["kind"] == "interrupted"
    assert settled["message"].startswith("KeyboardInterrupt (interrupted after the verdict timeout:")


def test_bad_run_input_rejects_clearly(page, server):
    start(page, server)
    not_text = page.evaluate("sup.run(42).then(() => 'resolved', (e) => e.name + ': ' + e.message)")
    bad_timeout = page.evaluate("sup.run('1', {timeout: -5}).then(() => 'resolved', (e) => e.name + ': ' + e.message)")
    bad_options = page.evaluate("sup.run('1', 7).then(() => 'resolved', (e) => e.name + ': ' + e.message)")
    misspelt = page.evaluate("sup.run('1', {timout: 5}).then(() => 'resolved', (e) => e.name + ': ' + e.message)")

    assert not_text == "TypeError: code must be a string of Python source, got 42"
    assert bad_timeout == "RangeError: option timeout must be greater than 0, got -5"
    assert bad_options == "TypeError: run options must be an object, got 7"
    assert misspelt == "TypeError: unknown run option timout; the only run option is timeout"
