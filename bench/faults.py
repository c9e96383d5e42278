"""Fault benchmarks: how fast a fault is judged, how fast work resumes, and false verdicts.

Each function opens its own tab, measures, closes the tab and returns a dict of figures
for results.json. `log` prints one progress line.
"""

import random
import time

from bench.page import BenchPage
from bench.summary import median, ratio

PING_MS = 500
PONG_MS = 1500
BOUND_MS = PING_MS + PONG_MS
# Detection target: the worst verdict within the bound plus this margin.
DETECTION_MARGIN_MS = 25
# A benchmark restarts its worker dozens of times within a minute. A 1 ms restart window
# makes every restart the first in its window, so each one starts at once, as the restart
# after a single fault does, and the restart budget is never spent.
ONE_FAULT_AT_A_TIME = {"restartWindow": 1}
FAST = {"pingInterval": PING_MS, "pongTimeout": PONG_MS, "lateTolerance": 500, **ONE_FAULT_AT_A_TIME}

HANG = "while True:\n    pass"
DETECTION_ROUNDS = 30
# Chromium 156 takes up to about 2 s to stop a worker that spins in wasm after terminate().
TERMINATION_SETTLE_S = 2.0
# Fixed, so that a rerun draws the same phases.
RANDOM_SEED = 20261204

# Signalled faults get a heartbeat too slow to be what caught them.
SLOW_HEARTBEAT = {"pingInterval": 2000, "pongTimeout": 10000, "interrupt": False, **ONE_FAULT_AT_A_TIME}
SIGNAL_FAULTS = [
    ("exit", "import os\nos._exit(1)"),
    ("segfault", "import faulthandler\nfaulthandler._sigsegv()"),
]
SIGNAL_ROUNDS = 4
SIGNAL_TARGET_MS = 100

RECOVERY_ROUNDS = 5
# More interrupt rounds: they take a second each, and some SIGINTs are lost (see recovery()).
INTERRUPT_ROUNDS = 8
NEXT_TASK = "6 * 7"
SPEEDUP_TARGET = 20

STALL_MS = 6000
STALLS = 2
STALL_HEARTBEAT = {"pingInterval": 2000, "pongTimeout": 5000}

STUCK_ROUNDS = 5
STUCK_MS = 1500
STUCK_DEADLINE_MS = 60000
BLOCK_BELOW_PYTHON = ("from js import Atomics, Int32Array, SharedArrayBuffer\n"
                      "Atomics.wait(Int32Array.new(SharedArrayBuffer.new(4)), 0, 0, 60000)")


def _require(condition, message):
    if not condition:
        raise AssertionError(message)


def detection(browser, origin, log):
    """Time hangs submitted at random phases of the ping schedule, for both heartbeats in pairs.

    The supervisor runs with hotSpare on and interrupt off (page not isolated), so each
    verdict hands over to a loaded spare. The pattern needs a fresh worker for every round.
    No worker loads while a round runs, because a load takes a core for seconds and delays
    the page's timers on this 2-core machine. The supervisor's next spare and the pattern's
    next worker load together before each pair.
    """
    rng = random.Random(RANDOM_SEED)
    page = BenchPage(browser, origin, "/plain")
    seed_options = {"pingInterval": PING_MS, "pongTimeout": PONG_MS}
    ours = []
    seeds = []
    try:
        page.make("hang", {**FAST, "hotSpare": True, "interrupt": False})
        for index in range(DETECTION_ROUNDS):
            page.call("seedStart", "seed", seed_options)
            page.call("waitSpare", "hang")
            page.call("seedReady", "seed")
            our_wait = rng.uniform(0, PING_MS)
            seed_wait = rng.uniform(0, PING_MS)
            # Alternate which goes first. The worker terminated in a pair's first round may
            # spin for up to ~2 s (Chromium), so the second round waits that out.
            if index % 2 == 0:
                mine = page.call("hangRound", "hang", HANG, our_wait)
                time.sleep(TERMINATION_SETTLE_S)
                theirs = page.call("seedHangRound", "seed", HANG, seed_wait)
            else:
                theirs = page.call("seedHangRound", "seed", HANG, seed_wait)
                time.sleep(TERMINATION_SETTLE_S)
                mine = page.call("hangRound", "hang", HANG, our_wait)
            _require(mine["kind"] == "hang", "expected a hang verdict, got " + str(mine))
            _require(mine["recovered"] == "spare", "expected the spare to take over, got " + str(mine))
            ours.append({"phaseMs": mine["phaseMs"], "detectedMs": mine["verdictAt"] - mine["submittedAt"],
                         "eventMs": mine["failureAt"] - mine["submittedAt"]})
            seeds.append({"phaseMs": theirs["phaseMs"], "detectedMs": theirs["verdictAt"] - theirs["submittedAt"]})
            log("detection %2d/%d: supervisor %6.1f ms (phase %5.1f), pattern %6.1f ms (phase %5.1f)" % (
                index + 1, DETECTION_ROUNDS, ours[-1]["detectedMs"], ours[-1]["phaseMs"],
                seeds[-1]["detectedMs"], seeds[-1]["phaseMs"]))
    finally:
        page.close()

    detected = [sample["detectedMs"] for sample in ours]
    seed_detected = [sample["detectedMs"] for sample in seeds]
    return {
        "hang_ms_p50": median(detected),
        "hang_ms_max": max(detected),
        "hang_ms_min": min(detected),
        "bound_ms": BOUND_MS,
        "seed_hang_ms_p50": median(seed_detected),
        "seed_hang_ms_max": max(seed_detected),
        "seed_hang_ms_min": min(seed_detected),
        "max_ratio_to_bound": ratio(max(detected), BOUND_MS),
        "max_ratio_to_seed": ratio(max(detected), max(seed_detected)),
        "rounds": DETECTION_ROUNDS,
        "settings": {**FAST, "hotSpare": True, "interrupt": False, "crossOriginIsolated": False},
        "target_ms": BOUND_MS + DETECTION_MARGIN_MS,
        "met": max(detected) <= BOUND_MS + DETECTION_MARGIN_MS,
        "samples": ours,
        "seed_samples": seeds,
    }


def signals(browser, origin, log):
    """Time faults that Pyodide reports (os._exit and a segfault) from submit to failure."""
    page = BenchPage(browser, origin)
    samples = {name: [] for name, _ in SIGNAL_FAULTS}
    try:
        # The spare takes over after each fault. The next fault waits until the next spare has
        # loaded, so that no load competes with the worker's report.
        page.make("signal", {**SLOW_HEARTBEAT, "hotSpare": True})
        for index in range(SIGNAL_ROUNDS):
            for name, code in SIGNAL_FAULTS:
                page.call("waitSpare", "signal")
                judged = page.call("faultRound", "signal", code, None)
                _require(judged["kind"] == "fatal", name + ": expected a fatal verdict, got " + str(judged))
                samples[name].append(judged["failureAt"] - judged["submittedAt"])
            log("signals %d/%d: exit %5.1f ms, segfault %5.1f ms" % (
                index + 1, SIGNAL_ROUNDS, samples["exit"][-1], samples["segfault"][-1]))

        # The pattern's worker beside it: does anything judge os._exit within the same bound?
        page.call("seedStart", "seed", {"pingInterval": SLOW_HEARTBEAT["pingInterval"],
                                        "pongTimeout": SLOW_HEARTBEAT["pongTimeout"]})
        page.call("seedReady", "seed")
        watch_ms = SLOW_HEARTBEAT["pingInterval"] + SLOW_HEARTBEAT["pongTimeout"] + 1000
        seed = page.call("seedWatch", "seed", SIGNAL_FAULTS[0][1], watch_ms)
        seed_pongs_after = seed["lastPongAt"] is not None and seed["lastPongAt"] > seed["submittedAt"]
        log("signals: the pattern %s os._exit within %d ms%s" % (
            "judged" if seed["terminatedAt"] is not None else "never judged", watch_ms,
            ", and its worker kept answering pings" if seed_pongs_after else ""))
    finally:
        page.close()

    worst = max(max(values) for values in samples.values())
    return {
        "signal_ms_max": worst,
        "signal_exit_ms_p50": median(samples["exit"]),
        "signal_segfault_ms_p50": median(samples["segfault"]),
        "signal_settings": {**SLOW_HEARTBEAT, "hotSpare": True},
        "signal_ratio_to_heartbeat_bound": ratio(worst, SLOW_HEARTBEAT["pingInterval"] + SLOW_HEARTBEAT["pongTimeout"]),
        "signal_target_ms": SIGNAL_TARGET_MS,
        "signal_met": worst <= SIGNAL_TARGET_MS,
        "signal_samples": samples,
        "seed_signal_watch_ms": watch_ms,
        "seed_signal_verdict_ms": None if seed["terminatedAt"] is None else seed["terminatedAt"] - seed["submittedAt"],
        "seed_signal_pongs_after_fault": seed_pongs_after,
    }


def _recovery_rounds(page, name, log, label, rounds, wait_spare=False):
    samples = []
    for index in range(rounds):
        if wait_spare:
            page.call("waitSpare", name)
        result = page.call("recoveryRound", name, HANG, NEXT_TASK)
        _require(result["status"] == "resolved" and result["value"] == 42,
                 label + ": the next task did not return 42: " + str(result))
        samples.append({"recoveryMs": result["resultAt"] - result["verdictAt"], "recovered": result["recovered"]})
        log("recovery %-9s %d/%d: %7.1f ms (recovered by %s)" % (
            label, index + 1, rounds, samples[-1]["recoveryMs"], result["recovered"]))
    return samples


def recovery(browser, origin, log):
    """Time from the verdict to the next task's result: cold restart, hot spare, soft interrupt.

    A soft interrupt can fail: Pyodide 314.0.7 reads the interrupt buffer and then writes 0
    to it in two steps, so a SIGINT written between them is lost, and the supervisor
    restarts the worker once interruptGrace has passed. Those rounds stay in the interrupt
    figures, because a page gets the same restart, and they are counted.
    """
    results = {}
    plain = BenchPage(browser, origin, "/plain")
    try:
        plain.make("cold", {**FAST, "interrupt": False})
        results["cold"] = _recovery_rounds(plain, "cold", log, "cold", RECOVERY_ROUNDS)
        plain.call("stop", "cold")
        plain.make("spare", {**FAST, "hotSpare": True})
        results["spare"] = _recovery_rounds(plain, "spare", log, "spare", RECOVERY_ROUNDS, wait_spare=True)
    finally:
        plain.close()
    isolated = BenchPage(browser, origin)
    try:
        isolated.make("interrupt", FAST)
        results["interrupt"] = _recovery_rounds(isolated, "interrupt", log, "interrupt", INTERRUPT_ROUNDS)
    finally:
        isolated.close()

    expected = {"cold": ["restart"], "spare": ["spare"], "interrupt": ["interrupt", "restart"]}
    for label, samples in results.items():
        for sample in samples:
            _require(sample["recovered"] in expected[label], label + ": recovered by " + str(sample["recovered"]))
    p50 = {label: median([sample["recoveryMs"] for sample in samples]) for label, samples in results.items()}
    interrupted = [sample["recoveryMs"] for sample in results["interrupt"] if sample["recovered"] == "interrupt"]
    spare_speedup = ratio(p50["cold"], p50["spare"])
    interrupt_speedup = ratio(p50["cold"], p50["interrupt"])
    return {
        "cold_ms_p50": p50["cold"],
        "spare_ms_p50": p50["spare"],
        "interrupt_ms_p50": p50["interrupt"],
        "spare_speedup": spare_speedup,
        "interrupt_speedup": interrupt_speedup,
        "interrupt_ms_p50_when_taken": median(interrupted) if len(interrupted) > 0 else None,
        "interrupt_not_taken": INTERRUPT_ROUNDS - len(interrupted),
        "rounds": RECOVERY_ROUNDS,
        "interrupt_rounds": INTERRUPT_ROUNDS,
        "settings": FAST,
        "target_speedup": SPEEDUP_TARGET,
        "met": spare_speedup >= SPEEDUP_TARGET and interrupt_speedup >= SPEEDUP_TARGET,
        "samples": {label: [sample["recoveryMs"] for sample in samples] for label, samples in results.items()},
    }


# Wait for the pattern's next pong, then block the main thread for `ms` after `delay` ms,
# so that no pong of the pattern is in flight when the stall begins.
STALL_SCRIPT = """async ([ms, delay]) => {
  const pongs = seed.record.pongsReceived;
  const deadline = performance.now() + 10000;
  while (seed.record.pongsReceived === pongs) {
    if (performance.now() > deadline) throw new Error("no pong of the pattern within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, delay));
  const start = performance.now();
  while (performance.now() < start + ms) {}
  return { start, end: performance.now() };
}"""


def _start_side_by_side(page):
    page.evaluate("(options) => { seed.start(options); }", STALL_HEARTBEAT)
    page.wait_for_function("() => seed.record.loadedAt !== null && seed.record.pongsReceived >= 2"
                           " && sup.state === 'ready' && sup.stats().pongsReceived >= 2", timeout=60000)


def stall(browser, origin, log):
    """Count verdicts after 6 s main-thread stalls, beside the pattern's heartbeat.

    The page is tests/pages/seed.html. The pattern terminates its worker at its first tick
    after a stall, so it is started again before the next stall.
    """
    page = browser.new_page()
    ours = 0
    theirs = 0
    lengths = []
    try:
        page.goto(origin + "/tests/pages/seed.html")
        page.wait_for_function("() => window.harness !== undefined && window.seed !== undefined", timeout=30000)
        page.evaluate("(options) => { harness.make('supervisor', options); }", STALL_HEARTBEAT)
        _start_side_by_side(page)
        for index in range(STALLS):
            failures_before = page.evaluate("() => harness.failures().length")
            stalled = page.evaluate(STALL_SCRIPT, [STALL_MS, 100])
            length = stalled["end"] - stalled["start"]
            _require(length >= STALL_MS, "the stall lasted only %.0f ms" % length)
            lengths.append(length)
            # Long enough for either heartbeat to judge: pongTimeout plus a ping interval and 1 s.
            watch_until = stalled["end"] + STALL_HEARTBEAT["pongTimeout"] + STALL_HEARTBEAT["pingInterval"] + 1000
            page.wait_for_function("(until) => performance.now() >= until", arg=watch_until, timeout=30000)
            verdicts = page.evaluate("(n) => harness.failures().length - n", failures_before)
            condemned = page.evaluate("(start) => seed.record.condemnedAt !== null"
                                      " && seed.record.condemnedAt >= start", stalled["start"])
            ours += verdicts
            theirs += 1 if condemned else 0
            log("stall %d/%d: %.0f ms; supervisor verdicts %d, pattern %s" % (
                index + 1, STALLS, length, verdicts, "condemned its worker" if condemned else "no verdict"))
            _require(page.evaluate("() => sup.state") == "ready", "the supervisor is not ready after the stall")
            if index + 1 < STALLS:
                page.evaluate("() => seed.stop()")
                _start_side_by_side(page)
        page.evaluate("() => { seed.stop(); sup.stop(); }")
    finally:
        page.close()
    return {
        "stall_6s": ours,
        "seed_stall_6s": theirs,
        "stalls": STALLS,
        "stall_ms": lengths,
        "settings": STALL_HEARTBEAT,
        "met": ours == 0,
    }


def stuck(browser, origin, log):
    """Time the beacon's verdict on a task blocked below Python (Atomics.wait, 60 s deadline)."""
    page = BenchPage(browser, origin)
    samples = []
    options = {"pingInterval": 2000, "pongTimeout": 5000, "progress": True, "stuckTimeout": STUCK_MS,
               **ONE_FAULT_AT_A_TIME}
    try:
        page.make("stuck", options)
        for index in range(STUCK_ROUNDS):
            judged = page.call("faultRound", "stuck", BLOCK_BELOW_PYTHON, {"timeout": STUCK_DEADLINE_MS})
            _require(judged["kind"] == "hang" and judged["stuck"] is True, "expected a stuck hang, got " + str(judged))
            samples.append(judged["failureAt"] - judged["submittedAt"])
            log("stuck %d/%d: %.1f ms" % (index + 1, STUCK_ROUNDS, samples[-1]))
    finally:
        page.close()
    return {
        "stuck_ms_max": max(samples),
        "stuck_ms_p50": median(samples),
        "stuck_timeout_ms": STUCK_MS,
        "task_deadline_ms": STUCK_DEADLINE_MS,
        "stuck_ratio_to_deadline": ratio(max(samples), STUCK_DEADLINE_MS),
        "stuck_samples": samples,
        "stuck_settings": options,
    }
