"""Soak: a healthy worker gets no verdict through stalls, freezes, hidden spells and CPU load.

For SOAK_SECONDS (60 by default, `make soak` sets 600) the test disturbs the page in a random
order drawn from SOAK_SEED: main-thread stalls of up to 3 * pongTimeout, freezes, hidden
spells, and small tasks whose values it checks. Two plain Web Workers spin meanwhile to load
the CPU. At the end a real endless loop must still be caught within pingInterval +
pongTimeout + MARGIN_MS (sized for a loaded 2-core machine). The run's numbers go to
bench/soak.json.
"""

import json
import os
import pathlib
import random
import time

from tests.support import browser as b
from tests.support import lifecycle as lc

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
SOAK_SEED = int(os.environ.get("SOAK_SEED", "1"))
PING_MS = 500
PONG_MS = 1500
SETTINGS = {"pingInterval": PING_MS, "pongTimeout": PONG_MS, "lateTolerance": 500}
MARGIN_MS = 1000
# Bound on each wait inside a step, far above the few seconds that a step takes.
STEP_TIMEOUT_S = 30
RESULT_PATH = pathlib.Path(__file__).resolve().parents[3] / "bench" / "soak.json"

# Two workers that spin until terminated or until `ms` have passed, whichever comes first.
# Each adds 1 to its slot of window.busySpins every million turns of its loop.
START_BUSY_WORKERS = """(ms) => {
  const source = "onmessage = (event) => { const [spins, index, ms] = event.data;"
    + " const end = performance.now() + ms; let turns = 0;"
    + " while (performance.now() < end) { turns += 1; if (turns % 1000000 === 0) Atomics.add(spins, index, 1); } };";
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  window.busySpins = new Int32Array(new SharedArrayBuffer(8));
  window.busyWorkers = [new Worker(url), new Worker(url)];
  window.busyWorkers.forEach((worker, index) => worker.postMessage([window.busySpins, index, ms]));
}"""

STALL = """(ms) => {
  const start = performance.now();
  while (performance.now() < start + ms) {}
  return performance.now() - start;
}"""

# Submit a task with a deadline, then stall: the result arrives while the main thread is blocked.
SUBMIT_THEN_STALL = """([code, timeout, ms]) => {
  const id = harness.submit(code, { timeout });
  const start = performance.now();
  while (performance.now() < start + ms) {}
  return { id, stalledMs: performance.now() - start };
}"""


class Soak:
    """The soak's disturbance steps, with a count of each kind."""

    def __init__(self, controlled, rng):
        self.controlled = controlled
        self.page = controlled.page
        self.rng = rng
        self.counts = {"stalls": 0, "freezes": 0, "hides": 0, "tasks": 0}
        self.longest_stall_ms = 0
        self.total = 0          # the expected value of the tasks' Python global `total`

    def settle(self, task_id):
        """Poll the task's outcome from Python, because wait_for_function never polls in a hidden page."""
        def settled():
            outcome = self.page.evaluate("(id) => harness.outcomes[id]", task_id)
            return outcome if outcome["status"] != "pending" else None

        return b.poll(settled, STEP_TIMEOUT_S, interval_s=0.1, message="task " + str(task_id) + " settled")

    def run_task(self, timeout=None):
        step = self.rng.randint(1, 1000)
        self.total += step
        options = None if timeout is None else {"timeout": timeout}
        task_id = b.submit(self.page, "total += " + str(step) + "\ntotal", options)
        outcome = self.settle(task_id)
        assert outcome["status"] == "resolved", outcome
        assert outcome["value"] == self.total
        self.counts["tasks"] += 1

    def stall(self):
        ms = self.rng.uniform(0.2, 3.0) * PONG_MS
        if self.rng.random() < 0.5:
            stalled = self.page.evaluate(STALL, ms)
        else:
            step = self.rng.randint(1, 1000)
            self.total += step
            started = self.page.evaluate(SUBMIT_THEN_STALL, ["total += " + str(step) + "\ntotal", 1000, ms])
            stalled = started["stalledMs"]
            outcome = self.settle(started["id"])
            assert outcome["status"] == "resolved", outcome
            assert outcome["value"] == self.total
            self.counts["tasks"] += 1
        assert stalled >= ms
        self.longest_stall_ms = max(self.longest_stall_ms, stalled)
        self.counts["stalls"] += 1

    def hide(self):
        self.controlled.hide()
        b.poll(lambda: self.page.evaluate("document.visibilityState") == "hidden", STEP_TIMEOUT_S,
               message="page hidden")

    def show(self):
        self.controlled.show()
        b.poll(lambda: self.page.evaluate("document.visibilityState") == "visible", STEP_TIMEOUT_S,
               message="page visible")

    def hidden_spell(self):
        self.hide()
        self.counts["hides"] += 1
        end = time.monotonic() + self.rng.uniform(1.0, 3.0) * PONG_MS / 1000
        if self.rng.random() < 0.5:
            self.run_task(timeout=5000)
        if self.rng.random() < 0.3:
            self.stall()
        time.sleep(max(0, end - time.monotonic()))
        self.show()

    def frozen_spell(self):
        # NOTE: no task runs across a freeze. The supervisor counts frozen time against a task
        # deadline, which test_task_deadline_does_not_count_frozen_time covers.
        self.hide()
        self.controlled.freeze()
        time.sleep(self.rng.uniform(1.0, 3.0) * PONG_MS / 1000)
        self.controlled.resume()
        self.counts["freezes"] += 1
        time.sleep(self.rng.uniform(0.0, 1.0))
        self.show()

    def quiet(self):
        time.sleep(self.rng.uniform(0.2, 2.0))

    def verdict_count(self):
        return self.page.evaluate("() => harness.failures().length")


def test_soak_gives_no_verdict_then_catches_hang(lifecycle_page, server):
    page = lifecycle_page.page
    rng = random.Random(SOAK_SEED)
    b.open_harness(page, server.origin)
    lc.record_lifecycle(page)
    b.make(page, SETTINGS)
    b.wait_ready(page)
    b.run(page, "total = 0")
    soak = Soak(lifecycle_page, rng)

    page.evaluate(START_BUSY_WORKERS, SOAK_SECONDS * 1000 + 120000)
    b.poll(lambda: min(page.evaluate("() => Array.from(window.busySpins)")) > 0, 10,
           message="both busy workers spinning")
    spins_at_start = page.evaluate("() => Array.from(window.busySpins)")
    started = time.monotonic()
    steps = [soak.stall, soak.hidden_spell, soak.frozen_spell, soak.run_task, soak.quiet]
    step_count = 0
    for _ in range(int(SOAK_SECONDS) * 4):
        if time.monotonic() - started >= SOAK_SECONDS:
            break
        rng.choice(steps)()
        step_count += 1
        # Stop at the first verdict, which the record and the asserts below then report.
        if soak.verdict_count() > 0:
            break
    soaked_s = time.monotonic() - started
    events_before_hang = page.evaluate("harness.events")

    # The disturbances really happened, as the page saw them.
    freezes = lc.lifecycle_events(page, "freeze")
    resumes = lc.lifecycle_events(page, "resume")
    hidden_events = [event for event in lc.lifecycle_events(page, "visibilitychange")
                     if event["visibility"] == "hidden"]
    assert len(freezes) == soak.counts["freezes"]
    assert len(resumes) == soak.counts["freezes"]
    # Every freeze began with its own hidden spell.
    assert len(hidden_events) == soak.counts["hides"] + soak.counts["freezes"]
    ticks = page.evaluate("() => window.lifecycle.ticks")
    longest_timer_gap_ms = max(later - earlier for earlier, later in zip(ticks, ticks[1:]))

    # A real hang at the end, with the page visible and the CPU still loaded.
    assert page.evaluate("document.visibilityState") == "visible"
    verdicts_before_hang = len(b.failures(page))
    stats_before_hang = b.stats(page)
    hang = b.submit(page, "while True:\n    pass")
    failure = b.wait_failures(page, verdicts_before_hang + 1, timeout=PING_MS + PONG_MS + MARGIN_MS + 10000)[-1]
    settled = b.outcome(page, hang)
    detected_ms = failure["detail"]["verdictAt"] - settled["submittedAt"]
    busy_spins = page.evaluate("() => Array.from(window.busySpins)")
    page.evaluate("() => { for (const worker of window.busyWorkers) worker.terminate(); }")

    RESULT_PATH.parent.mkdir(exist_ok=True)
    RESULT_PATH.write_text(json.dumps({
        "soakSeconds": round(soaked_s, 1),
        "requestedSeconds": SOAK_SECONDS,
        "seed": SOAK_SEED,
        "settings": SETTINGS,
        "steps": step_count,
        **soak.counts,
        "busyWorkerMillionTurns": busy_spins,
        "longestStallMs": round(soak.longest_stall_ms),
        "longestTimerGapMs": round(longest_timer_gap_ms),
        "verdicts": verdicts_before_hang,
        "verdictKinds": [event["detail"]["kind"] for event in events_before_hang if event["type"] == "failure"],
        "pingsSent": stats_before_hang["pingsSent"],
        "pongsReceived": stats_before_hang["pongsReceived"],
        "hangDetectedMs": round(detected_ms),
        "hangKind": failure["detail"]["kind"],
    }, indent=1, sort_keys=True) + "\n")

    # The CPU load really ran, through the whole soak and the final hang.
    assert busy_spins[0] > spins_at_start[0]
    assert busy_spins[1] > spins_at_start[1]
    assert verdicts_before_hang == 0, b.dump(events_before_hang)
    states_before_hang = [event["detail"]["state"] for event in events_before_hang if event["type"] == "statechange"]
    assert "unresponsive" not in states_before_hang
    assert stats_before_hang["restarts"] == 0
    assert stats_before_hang["generation"] == 1
    assert soak.counts["stalls"] >= 1
    assert soak.counts["freezes"] >= 1
    assert soak.counts["hides"] >= 1
    assert failure["detail"]["kind"] == "hang"
    assert detected_ms <= PING_MS + PONG_MS + MARGIN_MS, detected_ms
    assert failure["detail"]["recovered"] == "interrupt"
    assert settled["status"] == "rejected"
    assert settled["kind"] == "interrupted"
    b.wait_ready(page)
    assert b.run(page, "6 * 7")["value"] == 42
