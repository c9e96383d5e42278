"""No false verdicts: a stalled main thread, a hidden or frozen page, a pool starting at once.

Each test first asserts that its disturbance really happened: the stall lasted its length,
the page really was hidden (visibilityState) or frozen (a freeze event, stopped timers).
Where the pattern's own heartbeat (tests/pages/seed.mjs) runs in the same page with the same
settings, the test also asserts what it did under the same disturbance.

Timing bounds carry MARGIN_MS, sized for a loaded 2-core machine.
"""

import time

from tests.support import browser as b
from tests.support import lifecycle as lc

# The supervisor's and the pattern's defaults.
SLOW = {"pingInterval": 2000, "pongTimeout": 5000}
# Short intervals for the lifecycle tests. lateTolerance must stay below pongTimeout - pingInterval.
FAST_PING_MS = 500
FAST_PONG_MS = 1500
FAST = {"pingInterval": FAST_PING_MS, "pongTimeout": FAST_PONG_MS, "lateTolerance": 500}
MARGIN_MS = 1000

STALL_MS = 6000
HIDDEN_MS = 6000
FROZEN_MS = 4000

# Waits for the pattern's next pong, then blocks the main thread for `ms` after `delay` ms.
# Starting just after a pong means that no ping is in flight when the stall begins, so the
# pattern's verdict after the stall does not depend on where its interval happened to be.
STALL_AFTER_PATTERN_PONG = """async ([ms, delay]) => {
  await seed.nextPong();
  await new Promise((resolve) => setTimeout(resolve, delay));
  const start = performance.now();
  while (performance.now() < start + ms) {}
  return { start, end: performance.now() };
}"""


def open_seed_page(page, origin):
    page.goto(origin + "/tests/pages/seed.html")
    page.wait_for_function("() => window.harness !== undefined && window.seed !== undefined", timeout=10000)


def start_side_by_side(page, settings):
    """Start the supervisor and the pattern's heartbeat with the same interval and timeout."""
    page.evaluate("(options) => { seed.start(options); }",
                  {"pingInterval": settings["pingInterval"], "pongTimeout": settings["pongTimeout"]})
    b.make(page, settings)
    b.wait_ready(page)
    page.wait_for_function("() => seed.record.pongsReceived >= 2 && sup.stats().pongsReceived >= 2",
                           timeout=b.LOAD_TIMEOUT_MS)
    assert page.evaluate("() => seed.record.verdicts") == 0


def pattern_record(page):
    return page.evaluate("() => { const r = seed.record; return { ...r, ticks: undefined, verdictTimes: undefined }; }")


def timeline(page):
    return b.dump(page.evaluate("() => ({ events: harness.events, lifecycle: window.lifecycle"
                                " ? window.lifecycle.events : null })"))


def expect_no_verdict(page, until, reason="a verdict for a healthy worker"):
    """Poll until the page's clock passes `until` (ms), failing at the first verdict."""
    wall_deadline = time.monotonic() + max(0, until - b.now(page)) / 1000 + 30
    for _ in range(10000):
        seen = page.evaluate("() => ({ now: performance.now(), failures: harness.failures(),"
                             " states: harness.states() })")
        assert seen["failures"] == [], reason + ":\n" + timeline(page)
        assert "unresponsive" not in seen["states"], reason + ":\n" + timeline(page)
        if seen["now"] >= until:
            return
        assert time.monotonic() < wall_deadline, "the page's clock did not reach " + str(until)
        time.sleep(0.2)
    raise AssertionError("polling did not reach " + str(until))


def wait_visibility(page, state, timeout_s=10):
    """Wait for a visibilitychange to `state` and return the event's time on the page's clock.

    This polls from Python: wait_for_function polls with requestAnimationFrame, which a
    hidden page never runs.
    """
    def changed():
        events = lc.lifecycle_events(page, "visibilitychange")
        if len(events) > 0 and events[-1]["visibility"] == state:
            return events[-1]
        return None

    event = b.poll(changed, timeout_s, message="visibilitychange to " + state)
    assert page.evaluate("document.visibilityState") == state
    return event["at"]


def wait_event(page, event_type, after, timeout_s=10):
    def seen():
        events = [event for event in lc.lifecycle_events(page, event_type) if event["at"] >= after]
        return events[0] if len(events) > 0 else None

    return b.poll(seen, timeout_s, message=event_type + " event")


# -- The main thread stalls while the worker is healthy ------------------------------------


def test_main_thread_stall_gives_no_verdict(page, server):
    open_seed_page(page, server.origin)
    start_side_by_side(page, SLOW)
    pongs_before = b.stats(page)["pongsReceived"]

    stall = page.evaluate(STALL_AFTER_PATTERN_PONG, [STALL_MS, 100])
    assert stall["end"] - stall["start"] >= STALL_MS

    # The pattern condemns its healthy worker at its first tick after the stall.
    page.wait_for_function("() => seed.record.condemnedAt !== null",
                           timeout=SLOW["pingInterval"] + MARGIN_MS + 5000)
    pattern = pattern_record(page)
    assert pattern["condemnedAt"] >= stall["end"]
    assert pattern["condemnedAt"] - stall["end"] <= SLOW["pingInterval"] + MARGIN_MS
    assert pattern["silentMs"] > SLOW["pongTimeout"]

    # The supervisor gives no verdict, and its worker keeps sending pongs.
    expect_no_verdict(page, stall["end"] + SLOW["pongTimeout"] + 2000)
    stats = b.stats(page)
    assert stats["state"] == "ready"
    assert stats["pongsReceived"] >= pongs_before + 2
    assert stats["restarts"] == 0
    assert b.run(page, "sum(range(10))")["value"] == 45


def test_task_result_held_back_by_stall_is_kept(page, server):
    # The task ends in the worker during the stall, and its result waits behind the stall.
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)
    stall_ms = 2 * FAST_PONG_MS
    run = page.evaluate("""([code, timeout, ms]) => {
      const id = harness.submit(code, { timeout });
      const start = performance.now();
      while (performance.now() < start + ms) {}
      return { id, start, end: performance.now() };
    }""", ["6 * 7", 1000, stall_ms])
    assert run["end"] - run["start"] >= stall_ms

    settled = b.outcome(page, run["id"])
    assert settled["status"] == "resolved", timeline(page)
    assert settled["value"] == 42
    assert settled["at"] >= run["end"]
    expect_no_verdict(page, run["end"] + FAST_PONG_MS + 2000)
    assert b.stats(page)["restarts"] == 0


# -- Hidden and frozen pages ----------------------------------------------------------------


def test_hidden_page_gives_no_verdict(lifecycle_page, server):
    page = lifecycle_page.page
    open_seed_page(page, server.origin)
    lc.record_lifecycle(page)
    start_side_by_side(page, FAST)
    pongs_before = b.stats(page)["pongsReceived"]

    lifecycle_page.hide()
    hidden_at = wait_visibility(page, "hidden")
    expect_no_verdict(page, hidden_at + HIDDEN_MS)
    lifecycle_page.show()
    shown_at = wait_visibility(page, "visible")

    # The page really was hidden for longer than pongTimeout, and its timers were throttled.
    assert shown_at - hidden_at >= HIDDEN_MS
    # The probe interval runs every 100 ms in a visible page.
    gaps = lc.tick_gaps(page, hidden_at, shown_at)
    assert max(gaps) >= 500, gaps

    expect_no_verdict(page, shown_at + FAST_PONG_MS + 2000)
    stats = b.stats(page)
    assert stats["state"] == "ready"
    assert stats["pongsReceived"] > pongs_before
    assert b.run(page, "sum(range(10))")["value"] == 45

    # The pattern's heartbeat also survives this: a hidden page's timers run about once a
    # second, and each late tick still finds the pong of the ping before it.
    pattern = pattern_record(page)
    assert pattern["verdicts"] == 0, pattern


def test_frozen_page_gives_no_verdict(lifecycle_page, server):
    page = lifecycle_page.page
    open_seed_page(page, server.origin)
    lc.record_lifecycle(page, worker_counter=True)
    start_side_by_side(page, FAST)

    # Chromium freezes only hidden pages itself. Freeze just after a pong of the pattern,
    # so that no ping of its is in flight.
    lifecycle_page.hide()
    wait_visibility(page, "hidden")
    page.evaluate("() => seed.nextPong()")
    lifecycle_page.freeze()
    time.sleep(FROZEN_MS / 1000)
    lifecycle_page.resume()
    freeze = wait_event(page, "freeze", 0)
    resume = wait_event(page, "resume", freeze["at"])

    # The page really was frozen: no timer ran, and its workers stopped too.
    frozen_ms = resume["at"] - freeze["at"]
    assert frozen_ms >= FROZEN_MS - 200
    assert frozen_ms > 2 * FAST_PONG_MS
    ticks_inside = page.evaluate("([start, end]) => window.lifecycle.ticks.filter((t) => t > start && t < end).length",
                                 [freeze["at"], resume["at"]])
    assert ticks_inside == 0
    # The counter worker adds 1 every 10 ms while it runs.
    assert resume["counter"] - freeze["counter"] < frozen_ms / 10 / 10

    # Resumed but still hidden, then shown.
    expect_no_verdict(page, resume["at"] + 2000)
    lifecycle_page.show()
    shown_at = wait_visibility(page, "visible")
    expect_no_verdict(page, shown_at + FAST_PONG_MS + 2000)
    assert b.stats(page)["state"] == "ready"
    assert b.run(page, "sum(range(10))")["value"] == 45

    # The pattern condemns its healthy worker at its first tick after the resume.
    pattern = pattern_record(page)
    assert pattern["condemnedAt"] is not None, pattern
    assert pattern["condemnedAt"] >= resume["at"]
    assert pattern["condemnedAt"] - resume["at"] <= FAST_PING_MS + MARGIN_MS
    assert pattern["silentMs"] > FAST_PONG_MS


# A loop that needs CPU time, not wall time: 3 million turns took 0.5 s in Pyodide on a busy
# 2-core machine, so this one finishes well within the deadline when nothing freezes it.
COUNTING_TASK = "total = 0\nfor i in range(5_000_000):\n    total += i\ntotal"
COUNTING_TASK_TIMEOUT_MS = 3000


def test_task_deadline_does_not_count_frozen_time(lifecycle_page, server):
    # The page's workers are frozen with it, so a task makes no progress while frozen.
    page = lifecycle_page.page
    b.open_harness(page, server.origin)
    lc.record_lifecycle(page, worker_counter=True)
    b.make(page, FAST)
    b.wait_ready(page)
    lifecycle_page.hide()
    wait_visibility(page, "hidden")
    task = b.submit(page, COUNTING_TASK, {"timeout": COUNTING_TASK_TIMEOUT_MS})
    b.poll(lambda: page.evaluate("sup.state") == "busy", 5, message="the task running")
    lifecycle_page.freeze()
    # Frozen a whole margin past the deadline, so the check below has room for jitter.
    time.sleep((COUNTING_TASK_TIMEOUT_MS + 2 * MARGIN_MS) / 1000)
    lifecycle_page.resume()
    freeze = wait_event(page, "freeze", 0)
    resume = wait_event(page, "resume", freeze["at"])

    # The freeze outlasted the task's deadline and stopped the page's workers.
    frozen_ms = resume["at"] - freeze["at"]
    assert frozen_ms > COUNTING_TASK_TIMEOUT_MS + MARGIN_MS
    assert resume["counter"] - freeze["counter"] < frozen_ms / 10 / 10

    lifecycle_page.show()
    shown_at = wait_visibility(page, "visible")
    settled = b.outcome(page, task)
    assert settled["at"] > resume["at"], "the task ended before the freeze"
    assert b.failures(page) == [], ("a task deadline counted the frozen time:\n" + timeline(page)
                                    + "\ntask outcome: " + b.dump(settled))
    assert settled["status"] == "resolved", settled
    assert settled["value"] == sum(range(5_000_000))
    expect_no_verdict(page, shown_at + FAST_PONG_MS + 2000)


def test_hang_begun_while_hidden_is_caught_when_shown(lifecycle_page, server):
    page = lifecycle_page.page
    b.open_harness(page, server.origin)
    lc.record_lifecycle(page)
    b.make(page, FAST)
    b.wait_ready(page)

    lifecycle_page.hide()
    hidden_at = wait_visibility(page, "hidden")
    task = b.submit(page, "while True:\n    pass")
    b.poll(lambda: page.evaluate("sup.state") == "busy", 10, message="the hang task running")
    before = b.stats(page)
    expect_no_verdict(page, hidden_at + HIDDEN_MS, "a heartbeat verdict while the page was hidden")

    # The hang really happened: pings went out while hidden and no pong came back.
    during = b.stats(page)
    assert during["pingsSent"] > before["pingsSent"]
    assert during["pongsReceived"] == before["pongsReceived"]
    assert during["state"] == "busy"

    lifecycle_page.show()
    shown_at = wait_visibility(page, "visible")
    failure = b.wait_failures(page, 1, timeout=FAST_PING_MS + FAST_PONG_MS + MARGIN_MS + 10000)[0]["detail"]
    assert failure["kind"] == "hang"
    assert failure["verdictAt"] >= shown_at
    assert failure["verdictAt"] - shown_at <= FAST_PING_MS + FAST_PONG_MS + MARGIN_MS, timeline(page)

    # The page is cross-origin isolated, so the interrupt stops the loop and keeps the worker.
    assert failure["recovered"] == "interrupt"
    settled = b.outcome(page, task)
    assert settled["status"] == "rejected"
    assert settled["kind"] == "interrupted"
    assert settled["code"] == "while True:\n    pass"
    b.wait_ready(page)
    assert b.run(page, "sum(range(10))")["value"] == 45


# -- Four workers start at once --------------------------------------------------------------

POOL_SIZE = 4
START_CONCURRENCY = 2
# Every member's Pyodide download is held back this long before its first byte, as on a
# slow network.
WASM_DELAY_MS = 3000
# Each member's own deadline, counted from its own start. Two loads at once took more than
# 15 s after the delay on a 2-core machine busy with other browser tests.
# NOTE: the test does not prove that a deadline shared by the whole pool would have failed.
# That needs the pool's total startup to exceed the deadline while every member stays
# within it. With a 15 s delay one pair of loads took 23 s and the next more than 30 s, so
# no fixed delay and deadline did both reliably in under a minute.
MEMBER_STARTUP_TIMEOUT_MS = 60000


def test_pool_of_four_starts_in_turns(page, context, server):
    wasm_requests = []

    def count_and_continue(route):
        wasm_requests.append(route.request.url)
        route.continue_()

    # Routing also turns off the HTTP cache, so every member downloads the delayed file.
    context.route("**/*.wasm", count_and_continue)
    b.open_harness(page, server.origin, "/delay/" + str(WASM_DELAY_MS))
    created_at = page.evaluate("""(options) => {
      const at = performance.now();
      harness.make("pool", options);
      return at;
    }""", {**FAST, "size": POOL_SIZE, "startConcurrency": START_CONCURRENCY,
           "startupTimeout": MEMBER_STARTUP_TIMEOUT_MS})

    # All four were requested at once, and the pool started only two of them.
    generations = page.evaluate("() => sup.stats().members.map((member) => member.generation)")
    assert len(generations) == POOL_SIZE
    assert len([gen for gen in generations if gen > 0]) == START_CONCURRENCY, generations

    # Count live workers against ready members every 50 ms. Workers are read before the
    # ready count, so a member that turns ready in between cannot inflate the difference.
    max_loading = 0
    samples = 0
    deadline = time.monotonic() + 2 * MEMBER_STARTUP_TIMEOUT_MS / 1000 + 30
    while time.monotonic() < deadline:
        workers = len(page.workers)
        seen = page.evaluate("() => ({ ready: sup.stats().ready, failures: harness.failures().length })")
        max_loading = max(max_loading, workers - seen["ready"])
        samples += 1
        if seen["ready"] == POOL_SIZE or seen["failures"] > 0:
            break
        time.sleep(0.05)

    assert b.failures(page) == [], timeline(page)
    stats = b.stats(page)
    assert stats["ready"] == POOL_SIZE, timeline(page)
    assert stats["restarts"] == 0
    assert len(wasm_requests) == POOL_SIZE, wasm_requests
    assert samples >= 20
    assert max_loading <= START_CONCURRENCY

    # The same bound from the events. The constructor started two members before the harness
    # listened, and the others started only as earlier members turned ready.
    events = [event for event in page.evaluate("harness.events") if event["type"] == "statechange"]
    loading = START_CONCURRENCY
    peak = loading
    started_at = {}
    ready_at = {}
    for event in events:
        member = event["detail"]["member"]
        if event["detail"]["state"] == "starting":
            loading += 1
            started_at[member] = event["at"]
        elif event["detail"]["state"] == "ready":
            loading -= 1
            ready_at[member] = event["at"]
        peak = max(peak, loading)
    assert peak <= START_CONCURRENCY, timeline(page)
    assert len(started_at) == POOL_SIZE - START_CONCURRENCY
    assert sorted(ready_at) == list(range(POOL_SIZE))

    # Every load waited for the delayed download, and the members that started later began
    # only after the first ones had loaded.
    for member in range(POOL_SIZE):
        assert ready_at[member] - started_at.get(member, created_at) >= WASM_DELAY_MS
    for member in started_at:
        assert started_at[member] - created_at >= WASM_DELAY_MS

    codes = ["sum(range(" + str(n) + "))" for n in (10, 100, 1000, 10000)]
    ids = [b.submit(page, code) for code in codes]
    values = [b.outcome(page, task_id)["value"] for task_id in ids]
    assert values == [45, 4950, 499500, 49995000]
