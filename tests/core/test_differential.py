"""The differential test: the same event traces run through the core under CPython and,
transpiled by Transcrypt, under Node, and the two lists of records must be equal.

replay.replay records, after each event, the actions, the next wakeup and the state. Node
runs build/replay/replay.js, which `make build` writes, through replay_traces.mjs, once for
all traces. Both sides are normalised before the comparison: integral floats become ints
(Python prints 375.0 where JavaScript prints 375) and dict keys are sorted.
"""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

import core
import replay
from tests.core import traces

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "replay"
SCRIPT = Path(__file__).resolve().parent / "replay_traces.mjs"
SOURCES = ["core.py", "options.py", "policy.py", "protocol.py", "replay.py"]

RANDOM_SEEDS = range(40)


# -- hand-written traces ----------------------------------------------------------------


def healthy(gen, start, stop, step=2000, rtt=10):
    """Ticks every `step` ms from `start` to `stop`, each followed by the pong for the newest ping."""
    events = []
    for now in range(start, stop + 1, step):
        events.append(["tick", now])
        events.append(["pong_latest", now + rtt, gen])
    return events


def ticks(start, stop, step):
    return [["tick", now] for now in range(start, stop + 1, step)]


def trace(events, options=None, pool=False, end=None):
    last = events[len(events) - 1][1] if len(events) > 0 else 0
    made = {"options": options or [], "events": events, "end": end if end is not None else last + 1000}
    if pool:
        made["pool"] = True
    return made


def busy_hang_to_interrupting():
    """An interruptible worker hangs on task t1, and the verdict at 7000 starts the interrupt."""
    return [["start", 0], ["ready", 0, 1, True, False], ["pong_latest", 10, 1],
            ["submit", 100, "t1", None]] + ticks(2000, 6000, 2000) + [["tick", 7000]]


def recovering_with_backoff():
    """Two fatal failures, after which the second restart waits 5000 ms in recovering."""
    return [["start", 0], ["ready", 0, 1, False, False], ["failed", 100, 1, "fatal", "exit"],
            ["ready", 200, 2, False, False], ["failed", 300, 2, "fatal", "exit"]]


def stuck_events():
    events = [["start", 0], ["ready", 0, 1, True, True], ["pong_latest", 10, 1], ["submit", 100, "t1", None]]
    for now in [475, 850, 1225, 1600, 1975, 2000]:
        events.append(["progress", now, 1, 5])
        events.append(["tick", now])
    return events


HAND = {
    "ready_task_result": trace(
        [["start", 0], ["ready", 100, 1, False, False], ["pong_latest", 110, 1]]
        + healthy(1, 2100, 2100)
        + [["submit", 2200, "t1", None], ["result", 2300, 1, "t1"],
           ["submit", 2400, "t2", 5000], ["error", 2500, 1, "t2", "ValueError", "bad value"]]
        + healthy(1, 4100, 8100)),
    "startup_timeout": trace(
        [["start", 0], ["tick", 3000], ["tick", 6000], ["tick", 7000], ["ready", 7100, 3, False, False]],
        [["startupTimeout", 3000]]),
    "load_error_event": trace(
        [["start", 0], ["errorevent", 50, 1], ["ready", 100, 2, False, False], ["pong_latest", 110, 2]]),
    "hang_ready": trace(
        [["start", 0], ["ready", 0, 1, False, False]] + ticks(2000, 4000, 2000)
        + [["tick", 5000], ["ready", 5100, 2, False, False]]),
    "interrupt_success": trace(
        busy_hang_to_interrupting()
        + [["error", 7050, 1, "t1", "KeyboardInterrupt", "interrupted"], ["pong_latest", 7060, 1],
           ["submit", 7100, "t2", None], ["result", 7200, 1, "t2"]] + healthy(1, 9060, 13060)),
    "interrupt_grace_passes": trace(
        busy_hang_to_interrupting() + [["tick", 8000], ["tick", 9000], ["ready", 9100, 2, False, False]]),
    "task_timeout": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1],
         ["submit", 100, "t1", 3000], ["tick", 2000], ["tick", 3100]]),
    "fatal_busy": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["submit", 100, "t1", None],
         ["failed", 200, 1, "fatal", "Pyodide fatal error"], ["ready", 300, 2, False, False]]),
    "crash_ready": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["failed", 100, 1, "crash", "the worker vanished"]]),
    "memory_error": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["submit", 100, "t1", None],
         ["error", 200, 1, "t1", "MemoryError", "out of memory"]]),
    "probe_crash": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1], ["errorevent", 500, 1],
         ["tick", 1500]]),
    "probe_answered": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1], ["errorevent", 500, 1],
         ["pong_latest", 520, 1], ["tick", 1500]] + healthy(1, 2000, 8000)),
    "budget_spent": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["failed", 100, 1, "fatal", "exit"],
         ["ready", 200, 2, False, False], ["submit", 250, "t1", None], ["failed", 300, 2, "fatal", "exit"],
         ["submit", 400, "t2", None], ["restart", 500], ["ready", 600, 3, False, False],
         ["submit", 700, "t3", None], ["result", 800, 3, "t3"]],
        [["maxRestarts", 1]]),
    "spare_loaded": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["ready", 100, 2, False, False],
         ["pong_latest", 110, 1], ["submit", 150, "t1", None], ["failed", 200, 1, "fatal", "exit"],
         ["ready", 300, 3, False, False], ["result", 400, 2, "t1"]] + healthy(2, 2200, 6200),
        [["hotSpare", True], ["retries", 1]]),
    "spare_loading": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["failed", 100, 1, "fatal", "exit"],
         ["ready", 200, 2, False, False], ["ready", 300, 3, False, False], ["errorevent", 400, 3]]
        + ticks(1400, 1400, 1000),
        [["hotSpare", True]]),
    "late_tick": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1]] + healthy(1, 2000, 2000)
        + ticks(4000, 8000, 2000)
        + [["tick", 11000], ["tick", 11000], ["pong_latest", 11050, 1]] + healthy(1, 13000, 17000)),
    "hidden_task_deadline": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1], ["hidden", 100, True],
         ["submit", 200, "t1", 4000], ["tick", 2000], ["tick", 4000], ["tick", 4200],
         ["ready", 4300, 2, False, False], ["hidden", 5000, False]]),
    "visible_again": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1], ["hidden", 100, True]]
        + ticks(2000, 20000, 2000) + [["hidden", 20500, False]] + ticks(22500, 24500, 2000)
        + [["tick", 25500]]),
    "stuck_progress": trace(stuck_events(), [["progress", True]]),
    "forged_pongs": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong", 10, 1, 1, 7918], ["pong", 20, 1, 2, 7919],
         ["pong", 30, 2, 1, 7919], ["ready", 40, 1, True, True]] + ticks(2000, 4000, 2000)
        + [["tick", 5000]]),
    "retries": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["submit", 100, "t1", None],
         ["failed", 200, 1, "fatal", "exit"], ["ready", 300, 2, False, False], ["result", 400, 2, "t1"]],
        [["retries", 1]]),
    "restart_ready_busy": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["restart", 100], ["ready", 200, 2, False, False],
         ["submit", 300, "t1", None], ["submit", 300, "t2", None], ["restart", 400],
         ["pong_latest", 450, 2], ["result", 460, 2, "t1"], ["ready", 500, 3, False, False],
         ["result", 600, 3, "t2"]]),
    "restart_starting": trace(
        [["start", 0], ["restart", 100], ["ready", 200, 1, False, False], ["ready", 300, 2, False, False]]),
    "restart_recovering": trace(
        recovering_with_backoff() + [["restart", 400], ["ready", 500, 3, False, False]],
        [["backoffInitial", 5000]]),
    "restart_interrupting": trace(
        busy_hang_to_interrupting() + [["restart", 7100], ["ready", 7200, 2, False, False]]),
    "stop_ready": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["submit", 10, "t1", None], ["result", 20, 1, "t1"],
         ["stop", 30], ["submit", 40, "t2", None], ["restart", 50], ["tick", 60]]),
    "stop_busy": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["submit", 10, "t1", None],
         ["submit", 10, "t2", None], ["stop", 30], ["result", 40, 1, "t1"]]),
    "stop_starting": trace([["start", 0], ["submit", 10, "t1", None], ["stop", 20]]),
    "stop_failed": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["failed", 10, 1, "fatal", "exit"], ["stop", 20]],
        [["autoRestart", False]]),
    "stop_interrupting": trace(busy_hang_to_interrupting() + [["stop", 7100]]),
    "stop_recovering": trace(recovering_with_backoff() + [["stop", 400]], [["backoffInitial", 5000]]),
    "backoff_delays": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["failed", 10, 1, "fatal", "exit"],
         ["ready", 20, 2, False, False], ["failed", 30, 2, "fatal", "exit"], ["tick", 1030],
         ["ready", 1040, 3, False, False], ["failed", 1050, 3, "fatal", "exit"], ["tick", 4050],
         ["ready", 4060, 4, False, False], ["failed", 4070, 4, "fatal", "exit"], ["tick", 9070],
         ["ready", 9080, 5, False, False], ["failed", 9090, 5, "fatal", "exit"], ["submit", 9100, "t1", None]],
        [["maxRestarts", 4], ["backoffInitial", 1000], ["backoffFactor", 3], ["backoffMax", 5000]]),
    "auto_restart_off": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["submit", 10, "t1", None],
         ["submit", 10, "t2", None], ["failed", 20, 1, "oom", "out of memory"]],
        [["autoRestart", False]]),
    "user_interrupt": trace(
        [["start", 0], ["ready", 0, 1, True, False], ["submit", 10, "t1", None], ["interrupt", 20],
         ["error", 30, 1, "t1", "KeyboardInterrupt", ""], ["submit", 40, "t2", None], ["interrupt", 50],
         ["error", 60, 1, "t2", "CancelledError", ""]]),
    "resumed": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1], ["tick", 2000],
         ["resumed", 6500], ["tick", 6500], ["pong_latest", 6600, 1]] + healthy(1, 8500, 12500)),
    "option_type_error": trace([["start", 0]], [["pingInterval", "fast"]]),
    "option_range_error": trace([["start", 0]], [["pongTimeout", 1000]]),
    "option_unknown": trace([["start", 0]], [["pingIntervall", 2000]]),
    "option_pool_only": trace([["start", 0]], [["size", 2]]),
    "option_late_tolerance": trace([["start", 0]], [["pingInterval", 4000], ["pongTimeout", 5000]]),
    # Integers at or above 2 ** 31 are valid options, so both runtimes must accept them.
    "option_large_integer": trace(
        [["start", 0], ["ready", 10, 1, False, False]], [["maxOutput", 3000000000]]),
}

POOL = {
    "pool_start_concurrency": trace(
        [["start", 0], ["ready", 10, 1, False, False], ["ready", 20, 2, False, False],
         ["submit", 30, "a", None], ["submit", 30, "b", None], ["submit", 30, "c", None],
         ["ready", 40, 3, False, False], ["result", 50, 1, "a"], ["result", 60, 3, "c"],
         ["result", 70, 2, "b"]],
        [["size", 3], ["startConcurrency", 2]], pool=True),
    "pool_missed_round": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["ready", 0, 2, False, False],
         ["ready", 0, 3, False, False], ["tick", 2000], ["pong_latest", 2010, 2], ["pong_latest", 2010, 3],
         ["tick", 4000], ["pong_latest", 4010, 2], ["pong_latest", 4010, 3],
         ["submit", 4100, "t1", None], ["submit", 4100, "t2", None], ["submit", 4100, "t3", None]]
        + ticks(6000, 8000, 2000),
        [["size", 3], ["startConcurrency", 3]], pool=True),
    "pool_failed_member": trace(
        [["start", 0], ["ready", 10, 1, False, False], ["ready", 10, 2, False, False],
         ["ready", 10, 3, False, False], ["failed", 50, 2, "fatal", "exit"],
         ["submit", 60, "t1", None], ["submit", 60, "t2", None], ["submit", 60, "t3", None], ["stop", 70]],
        [["size", 3], ["autoRestart", False], ["startConcurrency", 3]], pool=True),
    "pool_overloaded": trace(
        [["start", 0], ["submit", 10, "t1", None], ["submit", 10, "t2", None], ["submit", 10, "t3", None],
         ["ready", 20, 1, False, False], ["submit", 30, "t4", None]],
        [["size", 2], ["maxQueue", 2], ["startConcurrency", 1]], pool=True),
    "pool_all_fail": trace(
        [["start", 0], ["ready", 10, 1, False, False], ["ready", 10, 2, False, False],
         ["ready", 10, 3, False, False]]
        + [["submit", 20, "t" + str(index), None] for index in range(5)]
        + [["failed", 30, gen, "crash", "gone"] for gen in [1, 2, 3]],
        [["size", 3], ["autoRestart", False], ["startConcurrency", 3]], pool=True),
    "pool_spares": trace(
        [["start", 0], ["ready", 10, 1, False, False], ["ready", 20, 2, False, False],
         ["ready", 30, 3, False, False], ["ready", 40, 4, False, False], ["failed", 50, 1, "fatal", "exit"],
         ["tick", 2010], ["tick", 4010], ["tick", 6010]],
        [["size", 2], ["hotSpare", True], ["startConcurrency", 2]], pool=True),
}


def phi_pongs(rtts, start=2000):
    events = []
    for index, rtt in enumerate(rtts):
        now = start + 2000 * index
        events.append(["tick", now])
        events.append(["pong_latest", now + rtt, 1])
    return events


PHI = {
    "phi_regular_then_silent": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1]] + phi_pongs([10] * 10)
        + ticks(22000, 30000, 250),
        [["detector", "phi"]]),
    "phi_jitter": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1]]
        + phi_pongs([120, 480, 35, 700, 260, 90, 610, 330, 15, 540, 205, 400]) + ticks(26000, 34000, 250),
        [["detector", "phi"], ["phiThreshold", 5]]),
    "phi_irregular_rtts": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1]]
        + phi_pongs([1000, 10, 1000, 10, 1000]) + ticks(12000, 20000, 500),
        [["detector", "phi"]]),
    "phi_long_task": trace(
        [["start", 0], ["ready", 0, 1, False, False], ["pong_latest", 10, 1]] + phi_pongs([10] * 4)
        + [["submit", 8100, "t1", None], ["tick", 10000], ["tick", 12000], ["result", 14000, 1, "t1"],
           ["tick", 14000], ["pong_latest", 14005, 1]],
        [["detector", "phi"]]),
}


def random_traces():
    made = {}
    for seed in RANDOM_SEEDS:
        rng = random.Random(seed)
        options, pool = traces.random_options(rng)
        steps = traces.random_steps(rng, 60)
        made["random_" + str(seed)] = traces.build(options, pool, steps, drain_ticks=40)[0]
    return made


RANDOM = random_traces()

ALL = {}
for group in [HAND, POOL, PHI, RANDOM]:
    ALL.update(group)


# -- running and comparing --------------------------------------------------------------


def normalise(value):
    """Turn integral floats into ints, through lists and dicts."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    return value


def canonical(records):
    plain = json.loads(json.dumps(records))
    return [json.dumps(normalise(record), sort_keys=True) for record in plain]


def stale_sources():
    built = BUILD / "replay.js"
    return [name for name in SOURCES if (ROOT / "src" / name).stat().st_mtime > built.stat().st_mtime]


@pytest.fixture(scope="module")
def node_records(tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node was not found on PATH; the differential test needs Node.js")
    if not (BUILD / "replay.js").exists():
        pytest.fail(str(BUILD / "replay.js") + " is missing; run `make build` first")
    stale = stale_sources()
    if len(stale) > 0:
        pytest.fail("build/replay is older than src/" + ", src/".join(stale) + "; run `make build` first")

    # A private copy, so that a `make build` running meanwhile cannot remove files under Node.
    copy = tmp_path_factory.mktemp("replay") / "replay"
    shutil.copytree(BUILD, copy)
    names = list(ALL)
    completed = subprocess.run([node, str(SCRIPT), str(copy)], input=json.dumps([ALL[name] for name in names]),
                               capture_output=True, text=True, timeout=60)
    if completed.returncode != 0:
        pytest.fail("replay_traces.mjs failed with exit code " + str(completed.returncode) + ":\n"
                    + completed.stderr)
    results = json.loads(completed.stdout)
    return dict(zip(names, results))


@pytest.fixture(scope="module")
def python_records():
    return {name: replay.replay(json.loads(json.dumps(ALL[name]))) for name in ALL}


@pytest.mark.parametrize("name", list(ALL))
def test_runtimes_agree(name, node_records, python_records):
    expected = canonical(python_records[name])
    actual = canonical(node_records[name])

    for index in range(min(len(expected), len(actual))):
        assert actual[index] == expected[index], (
            "first differing record, index " + str(index) + "\nCPython: " + expected[index]
            + "\nNode:    " + actual[index])
    assert len(actual) == len(expected)


def test_enough_traces_compared(node_records, python_records):
    compared = [name for name in ALL if name in node_records and name in python_records]

    assert len(compared) >= 20
    assert len([name for name in compared if name.startswith("random_")]) >= 30
    assert len([name for name in compared if ALL[name].get("pool") is True]) >= 5


def test_traces_raise_nothing(python_records):
    raised = [[name, record] for name, records in python_records.items()
              for record in records if len(record) > 2 and record[2] == "raised"]

    assert raised == []


def seen_transitions(python_records):
    """Collect the state changes per member: [from, to, event name] for every `state` action."""
    seen = []
    for records in python_records.values():
        current = {}
        for record in records:
            if len(record) < 5 or not isinstance(record[2], list):
                continue
            for action in record[2]:
                if action[0] != "state":
                    continue
                member = str(action[1])
                before = current.get(member, core.STARTING)
                if before != action[2]:
                    seen.append([before, action[2], record[0]])
                current[member] = action[2]
    return seen


def test_traces_cover_transition_table(python_records):
    seen = seen_transitions(python_records)
    pairs = set((item[0], item[1]) for item in seen)
    table = set((source, target) for source, targets in core.TRANSITIONS.items() for target in targets)

    missing = sorted(table - pairs)
    assert missing == []
    commanded = [[core.STARTING, "restart"], [core.STOPPED, "stop"]]
    outside = [item for item in seen if (item[0], item[1]) not in table and [item[1], item[2]] not in commanded]
    assert outside == []


def test_traces_cover_restart_and_stop(python_records):
    seen = seen_transitions(python_records)
    restarted = set(item[0] for item in seen if item[2] == "restart" and item[1] == core.STARTING)
    stopped = set(item[0] for item in seen if item[2] == "stop" and item[1] == core.STOPPED)

    assert restarted >= {core.READY, core.BUSY, core.RECOVERING, core.INTERRUPTING, core.FAILED}
    assert stopped >= {core.READY, core.BUSY, core.STARTING, core.INTERRUPTING, core.RECOVERING, core.FAILED}
