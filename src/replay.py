"""Replay an event trace through the core and record what it does.

The differential test runs the same traces here under CPython and, transpiled, under
Node, and compares the records. A trace is {"options": [[name, value], ...],
"events": [[name, time, ...args], ...]}; the names are the keys of `EVENTS` below.
"""

import core
from options import OptionError


def counting_nonces():
    """Return a source of deterministic nonces, so that both runtimes draw the same ones."""
    state = {"count": 0}

    def draw():
        state["count"] += 1
        return state["count"] * 7919 % 1000003

    return draw


def latest_ping(supervision, gen):
    """Return [seq, nonce] of the newest ping sent to this generation, or None."""
    for member in supervision.members:
        if member.active is not None and member.active.gen == gen and len(member.pings) > 0:
            ping = member.pings[len(member.pings) - 1]
            return [ping[0], ping[1]]
    return None


def apply_event(supervision, event):
    name = event[0]
    now = event[1]
    if name == "start":
        return supervision.start(now)
    if name == "submit":
        return supervision.submit(now, event[2], event[3])
    if name == "ready":
        return supervision.on_ready(now, event[2], event[3], event[4])
    if name == "pong":
        return supervision.on_pong(now, event[2], event[3], event[4])
    if name == "pong_latest":
        ping = latest_ping(supervision, event[2])
        if ping is None:
            return supervision.on_pong(now, event[2], 0, 0)
        return supervision.on_pong(now, event[2], ping[0], ping[1])
    if name == "result":
        return supervision.on_result(now, event[2], event[3])
    if name == "error":
        return supervision.on_python_error(now, event[2], event[3], event[4], event[5])
    if name == "failed":
        return supervision.on_worker_failure(now, event[2], event[3], event[4])
    if name == "errorevent":
        return supervision.on_error_event(now, event[2], "error event")
    if name == "progress":
        return supervision.on_progress(now, event[2], event[3])
    if name == "message":
        supervision.saw_message(now, event[2])
        return []
    if name == "tick":
        return supervision.tick(now)
    if name == "hidden":
        return supervision.visibility(now, event[2])
    if name == "frozen":
        return supervision.frozen(now)
    if name == "resumed":
        return supervision.resumed(now)
    if name == "restart":
        return supervision.restart(now)
    if name == "stop":
        return supervision.stop(now)
    if name == "interrupt":
        return supervision.interrupt(now)
    raise ValueError("unknown trace event " + str(name))


def whole(value):
    """Drop the fraction of a wakeup time, which the two runtimes may print differently."""
    if value is None:
        return None
    return int(value)


def replay(trace):
    names = []
    values = {}
    for pair in trace["options"]:
        names.append(pair[0])
        values[pair[0]] = pair[1]

    def lookup(name):
        if name in values:
            return values[name]
        return None

    records = []
    pool = "pool" in trace and trace["pool"] is True
    try:
        supervision = core.create(names, lookup, pool, counting_nonces(), 0)
    except OptionError as error:
        return [["option error", error.message, error.is_range]]
    for event in trace["events"]:
        now = event[1]
        try:
            actions = apply_event(supervision, event)
        except Exception as error:
            records.append([event[0], now, "raised", str(error)])
            continue
        records.append([event[0], now, actions, whole(supervision.next_wakeup(now)),
                        supervision.state()])
    records.append(["stats", supervision.stats(trace["end"])])
    return records
