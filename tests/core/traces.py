"""Random event traces for the property and differential tests.

A trace is built event by event against a CPython Supervision, so that each event is one an
adapter could see. A `ready` comes only for a generation still loading, a `pong_latest` replies
to the newest ping, and results and errors come only for a running task. Every step is a pair
of integers [choice, number] that `build` turns into one event given the current state, so
hypothesis can shrink the pairs and random.Random can draw them. Times are integers.
"""

import core
import replay

CHOICES = 16

PYTHON_TYPES = ["ValueError", "KeyboardInterrupt", "CancelledError", "MemoryError", "ZeroDivisionError"]
FAILURE_KINDS = ["fatal", "crash", "oom"]


class Recorder:
    """Apply trace events to a Supervision and keep, per event, what a property needs."""

    def __init__(self, options, pool):
        values = {}
        for pair in options:
            values[pair[0]] = pair[1]
        self.supervision = core.create([pair[0] for pair in options], values.get, pool,
                                       replay.counting_nonces(), 0)
        self.events = []
        self.log = []            # one dict per event: event, actions, wakeup, deferred, ignored
        self.now = 0
        self.wakeup = None
        self.drain_from = None   # index in `log` of the first event of the drain phase

    def apply(self, event):
        ignored = self.supervision.ignored
        actions = replay.apply_event(self.supervision, event)
        self.now = event[1]
        self.wakeup = self.supervision.next_wakeup(self.now)
        deferred = False
        for member in self.supervision.members:
            if member.deferred:
                deferred = True
        self.events.append(event)
        self.log.append({
            "event": event,
            "actions": actions,
            "wakeup": self.wakeup,
            "deferred": deferred,
            "ignored": self.supervision.ignored != ignored,
        })

    def next_tick_time(self):
        """The first integer time at or after the wakeup, never before now."""
        if self.wakeup is None:
            return None
        whole = int(self.wakeup)
        if whole < self.wakeup:
            whole += 1
        return max(self.now, whole)


def loading_generations(supervision):
    gens = []
    for member in supervision.members:
        for incarnation in [member.active, member.spare]:
            if incarnation is not None and not incarnation.loaded:
                gens.append(incarnation.gen)
    return gens


def live_generations(supervision):
    gens = []
    for member in supervision.members:
        for incarnation in [member.active, member.spare]:
            if incarnation is not None:
                gens.append(incarnation.gen)
    return gens


def running_tasks(supervision):
    """Return [gen, task id] for every member with a task."""
    running = []
    for member in supervision.members:
        if member.task is not None and member.active is not None:
            running.append([member.active.gen, member.task.id])
    return running


def pick(items, number):
    if len(items) == 0:
        return None
    return items[number % len(items)]


def step_event(recorder, state, choice, number):
    """Turn one [choice, number] step into an event, or None when it fits no state."""
    supervision = recorder.supervision
    now = recorder.now
    soon = now + number % 400

    if choice <= 2:
        at = recorder.next_tick_time()
        if at is None:
            at = now + number % 5000
        return ["tick", at]
    if choice == 3:
        return ["tick", now + number % 9000]
    if choice <= 5:
        gens = [member.active.gen for member in supervision.members
                if member.active is not None and len(member.pings) > 0]
        gen = pick(gens, number)
        if gen is None:
            return None
        return ["pong_latest", soon, gen]
    if choice == 6:
        gen = pick(loading_generations(supervision), number)
        if gen is None:
            return None
        return ["ready", soon, gen, number % 2 == 0, number % 3 == 0]
    if choice == 7:
        running = pick(running_tasks(supervision), number)
        if running is None:
            return None
        return ["result", soon, running[0], running[1]]
    if choice == 8:
        running = pick(running_tasks(supervision), number)
        if running is None:
            return None
        python_type = PYTHON_TYPES[number % len(PYTHON_TYPES)]
        return ["error", soon, running[0], running[1], python_type, "raised by the task"]
    if choice == 9:
        gen = pick(live_generations(supervision), number)
        if gen is None:
            return None
        return ["failed", soon, gen, FAILURE_KINDS[number % 3], "reported by the worker"]
    if choice == 10:
        state["submitted"] += 1
        timeout = None
        if number % 3 != 0:
            timeout = 500 + number % 15000
        return ["submit", soon, "t" + str(state["submitted"]), timeout]
    if choice == 11:
        state["hidden"] = not state["hidden"]
        return ["hidden", soon, state["hidden"]]
    if choice == 12:
        if number % 4 != 0:
            return None
        return ["restart", soon]
    if choice == 13:
        gen = pick(live_generations(supervision), number)
        if gen is None:
            return None
        return ["errorevent", soon, gen]
    if choice == 14:
        running = pick(running_tasks(supervision), number)
        if running is None:
            return None
        key = str(running[0])
        count = state["progress"].get(key, 0)
        if number % 2 == 1:
            count += 1 + number % 50
        state["progress"][key] = count
        return ["progress", soon, running[0], count]
    if number % 3 == 0:
        return ["interrupt", soon]
    if number % 3 == 1:
        return ["resumed", soon]
    gens = [member.active.gen for member in supervision.members
            if member.active is not None and len(member.pings) > 0]
    gen = pick(gens, number)
    if gen is None:
        return None
    ping = replay.latest_ping(supervision, gen)
    return ["pong", soon, gen, ping[0], ping[1] + 1]


def build(options, pool, steps, drain_ticks=200):
    """Build a trace from the steps, then tick at each wakeup up to `drain_ticks` times, then stop.

    Returns [trace, recorder]. The drain phase sends no worker messages, so silent workers
    get their verdicts and the trace ends with the restart policy at work.
    """
    recorder = Recorder(options, pool)
    state = {"submitted": 0, "hidden": False, "progress": {}}
    recorder.apply(["start", 0])
    for step in steps:
        event = step_event(recorder, state, step[0] % CHOICES, step[1])
        if event is not None:
            recorder.apply(event)
    recorder.drain_from = len(recorder.log)
    for _ in range(drain_ticks):
        at = recorder.next_tick_time()
        if at is None:
            break
        recorder.apply(["tick", at])
    recorder.apply(["stop", recorder.now])
    trace = {"options": options, "pool": pool, "events": recorder.events, "end": recorder.now + 1000}
    return [trace, recorder]


def random_options(rng, detector=None):
    """Draw a valid option list; `detector` fixes the detector when given."""
    ping = rng.choice([500, 1000, 2000])
    pong = ping + rng.choice([1500, 3000])
    options = [
        ["pingInterval", ping],
        ["pongTimeout", pong],
        ["lateTolerance", rng.choice([200, 1000])],
        ["startupTimeout", rng.choice([3000, 20000])],
        ["interruptGrace", rng.choice([500, 2000])],
        ["maxRestarts", rng.randint(0, 4)],
        ["restartWindow", rng.choice([5000, 60000])],
        ["backoffInitial", rng.choice([0, 300, 1000])],
        ["retries", rng.randint(0, 1)],
        ["hotSpare", rng.random() < 0.3],
        ["interrupt", rng.choice(["auto", False])],
        ["stuckTimeout", rng.choice([800, 1500])],
        ["detector", detector if detector is not None else rng.choice(["fixed", "phi"])],
    ]
    pool = rng.random() < 0.3
    if pool:
        options.append(["size", rng.randint(1, 3)])
        options.append(["startConcurrency", rng.randint(1, 3)])
        options.append(["maxQueue", rng.randint(1, 5)])
    return [options, pool]


def random_steps(rng, count):
    return [[rng.randrange(CHOICES), rng.randrange(100000)] for _ in range(count)]
