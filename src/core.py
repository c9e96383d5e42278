"""Sans-IO supervision core: one state machine per worker slot, and the task queue.

Every method takes the time in monotonic milliseconds and returns a list of actions; none
reads a clock, touches a worker or logs. The browser adapter performs the actions and the
tests replay event traces. The same source runs under CPython and, transpiled by
Transcrypt, in the browser, so it keeps to the subset where both agree: no negative
indexes, no `%` formatting, no comparison of lists, string keys only, `len(x) == 0` for
emptiness.

Theory of operation. A `Member` is one slot: the worker in it (an `Incarnation`, with a
generation number that every message repeats), an optional loaded spare, the task it is
running and its heartbeat. `Supervision` owns the members and the queue; a Supervisor is a
Supervision of one member and a Pool one of several. The adapter keeps one timer armed
at `next_wakeup()` and calls `tick()` when it fires. Verdicts are given only at ticks,
never while handling a message, and only when the tick itself ran on time: a late tick
means the page was stalled, throttled or frozen, so its round is discarded.

Actions are lists whose first item names them:
    ["spawn", member, gen]                 start a worker with this generation
    ["terminate", member, gen]
    ["ping", member, gen, seq, nonce]
    ["run", member, gen, task]             post the task's code to the worker
    ["cancel", member, gen, task]          ask the worker to cancel an awaiting task
    ["interrupt", member, gen]             write SIGINT into the interrupt buffer
    ["resolve", task]                      settle with the result just received
    ["reject", task, kind, message, gen]   settle with a failure (gen is 0 if never run)
    ["state", member, state, gen]          a statechange event
    ["failure", member, details]           a failure event; details is a dict
"""

from options import Settings
from policy import PhiAccrual, RestartPolicy
import protocol

STARTING = "starting"
READY = "ready"
BUSY = "busy"
UNRESPONSIVE = "unresponsive"
INTERRUPTING = "interrupting"
RECOVERING = "recovering"
FAILED = "failed"
STOPPED = "stopped"

# Every state can also go to STARTING (restart()) and STOPPED (stop()), except STOPPED.
TRANSITIONS = {
    STARTING: [READY, RECOVERING],
    READY: [BUSY, UNRESPONSIVE, RECOVERING],
    BUSY: [READY, UNRESPONSIVE, RECOVERING],
    UNRESPONSIVE: [INTERRUPTING, RECOVERING],
    INTERRUPTING: [READY, RECOVERING],
    RECOVERING: [STARTING, READY, FAILED],
    FAILED: [],
    STOPPED: [],
}

# Rejection kinds besides the failure kinds and those in the protocol module.
OVERLOADED = "overloaded"    # the queue is full
NO_WORKER = "failed"         # no member can ever take the task

# The Python exception types that the worker reports, mapped to rejection kinds.
INTERRUPT_TYPES = ["KeyboardInterrupt", "CancelledError"]

# A probe ping after a worker `error` event waits at most this long for its pong.
PROBE_TIMEOUT = 1000


class IllegalTransition(Exception):
    def __init__(self, member, state, target, event):
        Exception.__init__(self, "member " + str(member) + ": illegal transition from "
                           + state + " to " + target + " on " + event)


class Incarnation:
    """One worker process: spawned once, never restarted (a restart makes a new one)."""

    def __init__(self, gen, now, startup_timeout):
        self.gen = gen
        self.loaded = False
        self.ready_at = None
        self.startup_deadline = now + startup_timeout
        self.interruptible = False
        self.progress = False


class Task:
    def __init__(self, task_id, timeout, now):
        self.id = task_id
        self.timeout = timeout
        self.started_at = None
        self.deadline = None
        self.attempts = 0
        self.gen = 0


class Member:
    """The state machine of one supervised worker slot."""

    def __init__(self, owner, index, now):
        self.owner = owner
        self.settings = owner.settings
        self.index = index
        self.state = STARTING
        self.active = None
        self.last_gen = 0
        self.spare = None
        self.spare_retry_at = None
        self.task = None
        self.pings = []             # outstanding: [seq, nonce, sent_at, deadline]
        self.next_ping_at = None
        self.probe_deadline = None
        self.deferred = False
        self.failure = None         # the verdict under recovery, a dict
        self.interrupt_deadline = None
        self.restart_at = None
        self.waiting_to_spawn = False
        self.last_pong_at = None
        self.first_message_after_due = None
        self.last_rtt = None
        self.pings_sent = 0
        self.pongs_received = 0
        self.restarts = 0
        self.error_events = 0
        self.progress_count = None
        self.progress_changed_at = None
        self.progress_rate = 0
        self.progress_sampled_at = None
        self.progress_due = None
        self.last_failure = None
        self.policy = RestartPolicy(
            self.settings.get("maxRestarts"), self.settings.get("restartWindow"),
            self.settings.get("backoffInitial"), self.settings.get("backoffFactor"),
            self.settings.get("backoffMax"))
        self.spare_policy = RestartPolicy(
            self.settings.get("maxRestarts"), self.settings.get("restartWindow"),
            self.settings.get("backoffInitial"), self.settings.get("backoffFactor"),
            self.settings.get("backoffMax"))
        self.detector = None
        if self.settings.get("detector") == "phi":
            # Fitted to recorded pong intervals (tests/core/data): a standard deviation of at
            # least a fifth of the interval and a pause of half of it kept phi below 3 on a
            # loaded 2-core machine, and still judged a silent worker about a third sooner
            # than the fixed rule.
            interval = self.settings.get("pingInterval")
            self.detector = PhiAccrual(self.settings.get("phiThreshold"), 100, interval / 5, interval / 2)

    # -- state --------------------------------------------------------------------------

    def goto(self, target, event):
        if target == self.state:
            return
        allowed = TRANSITIONS[self.state]
        restartable = target == STARTING and self.state != STOPPED
        stoppable = target == STOPPED and self.state != STOPPED
        if target not in allowed and not restartable and not stoppable:
            raise IllegalTransition(self.index, self.state, target, event)
        self.state = target
        gen = 0
        if self.active is not None:
            gen = self.active.gen
        self.owner.emit(["state", self.index, target, gen])

    def alive(self):
        return self.state != FAILED and self.state != STOPPED

    def generation(self):
        """Return the active worker's generation, or the last one's while none is active."""
        if self.active is None:
            return self.last_gen
        return self.active.gen

    def dispatchable(self, now):
        """Ready, idle, and no ping left unanswered for a whole round."""
        if self.state != READY or self.task is not None:
            return False
        for ping in self.pings:
            if now - ping[2] >= self.settings.get("pingInterval"):
                return False
        return True

    # -- spawning -----------------------------------------------------------------------

    def request_spawn(self, now):
        self.waiting_to_spawn = True
        self.owner.spawn_waiting(now)

    def spawn(self, now):
        """Start the active worker; called by the owner when a start slot is free."""
        self.waiting_to_spawn = False
        gen = self.owner.new_generation()
        self.active = Incarnation(gen, now, self.settings.get("startupTimeout"))
        self.last_gen = gen
        self.pings = []
        self.next_ping_at = None
        self.probe_deadline = None
        self.deferred = False
        if self.state == STARTING:
            # Already starting (first start, restart()): announce the new generation.
            self.owner.emit(["state", self.index, STARTING, gen])
        self.goto(STARTING, "spawn")
        self.owner.emit(["spawn", self.index, gen])

    def spawn_spare(self, now):
        gen = self.owner.new_generation()
        self.spare = Incarnation(gen, now, self.settings.get("startupTimeout"))
        self.spare_retry_at = None
        self.owner.emit(["spawn", self.index, gen])

    def wants_spare(self, now):
        if not self.settings.get("hotSpare") or self.spare is not None or not self.alive():
            return False
        if self.active is None or not self.active.loaded:
            return False
        return self.spare_retry_at is None or now >= self.spare_retry_at

    def starting_count(self):
        count = 0
        if self.active is not None and not self.active.loaded and self.state == STARTING:
            count += 1
        if self.spare is not None and not self.spare.loaded:
            count += 1
        return count

    # -- heartbeat ------------------------------------------------------------------------

    def heartbeat_on(self):
        return self.state == READY or self.state == BUSY

    def send_ping(self, now, timeout):
        seq = self.owner.new_sequence()
        nonce = self.owner.new_nonce()
        self.pings.append([seq, nonce, now, now + timeout])
        self.pings_sent += 1
        self.owner.emit(["ping", self.index, self.active.gen, seq, nonce])

    def shift_deadlines(self, paused):
        """Move the deadlines on by a time in which the worker could not run."""
        self.deferred = False
        if self.task is not None and self.task.deadline is not None:
            self.task.deadline += paused
        for incarnation in [self.active, self.spare]:
            if incarnation is not None and not incarnation.loaded:
                incarnation.startup_deadline += paused
        if self.interrupt_deadline is not None:
            self.interrupt_deadline += paused
        if self.probe_deadline is not None:
            self.probe_deadline += paused

    def fresh_round(self, now):
        """Give every outstanding ping a full timeout from now, and ping again."""
        for ping in self.pings:
            ping[3] = now + self.settings.get("pongTimeout")
        if self.detector is not None:
            self.detector.restart(now)
        if self.progress_changed_at is not None:
            self.progress_changed_at = now
        if self.heartbeat_on():
            self.send_ping(now, self.settings.get("pongTimeout"))
            self.next_ping_at = now + self.settings.get("pingInterval")

    def pong_deadline(self):
        if len(self.pings) == 0:
            return None
        return self.pings[0][3]

    def on_pong(self, now, seq, nonce):
        found = -1
        for i in range(len(self.pings)):
            if self.pings[i][0] == seq and self.pings[i][1] == nonce:
                found = i
        if found < 0:
            return False
        self.last_rtt = now - self.pings[found][2]
        self.pings = self.pings[found + 1:]
        self.pongs_received += 1
        self.last_pong_at = now
        self.probe_deadline = None
        if self.detector is not None:
            self.detector.heartbeat(now)
        if self.state == INTERRUPTING and self.task is None:
            self.interrupt_succeeded(now)
        return True

    def on_error_event(self, now):
        """Handle a worker `error` event: a load failure during startup, a probe ping afterwards."""
        self.error_events += 1
        if self.state == STARTING:
            self.recover(now, protocol.LOAD, "the worker script failed to load or threw at the top level", {})
            return
        if self.state == RECOVERING or self.probe_deadline is not None:
            return
        self.probe_deadline = now + min(PROBE_TIMEOUT, self.settings.get("pongTimeout"))
        if self.active is not None and self.active.loaded:
            self.send_ping(now, min(PROBE_TIMEOUT, self.settings.get("pongTimeout")))

    # -- progress beacon ------------------------------------------------------------------

    def beacon_on(self):
        return (self.state == BUSY and self.active is not None and self.active.progress
                and self.task is not None)

    def on_progress(self, now, count):
        if self.progress_count is None or count != self.progress_count:
            if self.progress_count is not None and self.progress_sampled_at is not None:
                elapsed = now - self.progress_sampled_at
                if elapsed > 0:
                    self.progress_rate = round((count - self.progress_count) * 1000 / elapsed)
            self.progress_count = count
            self.progress_changed_at = now
        elif self.progress_changed_at is not None and now - self.progress_changed_at > 0:
            # One still sample can be the worker waiting for a core on a busy machine.
            if now - self.progress_changed_at >= self.settings.get("stuckTimeout") / 2:
                self.progress_rate = 0
            # The counter stood still. A ping separates awaiting Python from a blocked worker.
            if len(self.pings) == 0 and self.beacon_on():
                self.send_ping(now, self.settings.get("pongTimeout"))
        self.progress_sampled_at = now

    def stuck(self, now):
        if not self.beacon_on() or self.progress_changed_at is None:
            return False
        still = now - self.progress_changed_at
        if still < self.settings.get("stuckTimeout"):
            return False
        oldest = self.pings[0][2] if len(self.pings) > 0 else now
        return now - oldest >= self.settings.get("stuckTimeout") / 2

    def python_running(self, now):
        """Return whether the beacon saw bytecode run within the last stuckTimeout, or None if unknown."""
        if self.active is None or not self.active.progress or self.progress_changed_at is None:
            return None
        return now - self.progress_changed_at < self.settings.get("stuckTimeout")

    # -- tasks ----------------------------------------------------------------------------

    def assign(self, now, task):
        task.attempts += 1
        task.started_at = now
        task.gen = self.active.gen
        task.deadline = None
        if task.timeout is not None:
            task.deadline = now + task.timeout
        self.task = task
        self.progress_count = None
        self.progress_changed_at = now
        self.progress_sampled_at = None
        self.progress_due = now + self.settings.get("stuckTimeout") / 4
        self.progress_rate = 0
        self.goto(BUSY, "run")
        self.owner.emit(["run", self.index, self.active.gen, task.id])

    def finish_task(self, now):
        task = self.task
        self.task = None
        self.progress_changed_at = None
        if self.detector is not None:
            # The task held the pongs back; phi counts the silence from its end.
            self.detector.restart(now)
        if self.state == BUSY:
            self.goto(READY, "task settled")
            if task.deadline is not None:
                self.fresh_round(now)
        elif self.state == INTERRUPTING and len(self.pings) == 0:
            self.interrupt_succeeded(now)

    def on_result(self, now, task_id):
        if self.task is None or self.task.id != task_id:
            return False
        self.owner.emit(["resolve", task_id])
        self.owner.forget_task(task_id)
        self.finish_task(now)
        return True

    def on_python_error(self, now, task_id, python_type, message):
        if self.task is None or self.task.id != task_id:
            return False
        if python_type == "MemoryError":
            self.recover(now, protocol.OOM, "MemoryError: " + message, {})
            return True
        kind = protocol.PYTHON
        text = python_type
        if message != "":
            text = python_type + ": " + message
        if python_type in INTERRUPT_TYPES:
            kind = protocol.INTERRUPTED
            if self.state == INTERRUPTING and self.failure is not None:
                # Name the verdict, since the failure event comes after this rejection.
                text = (text + " (interrupted after the verdict " + self.failure["kind"] + ": "
                        + self.failure["message"] + ")")
        self.owner.emit(["reject", task_id, kind, text, self.task.gen])
        self.owner.forget_task(task_id)
        self.finish_task(now)
        return True

    # -- verdicts and recovery -----------------------------------------------------------

    def verdict(self, now, kind, message, details):
        """Judge the worker; try the soft interrupt first when it can help."""
        self.goto(UNRESPONSIVE, kind)
        details["verdictAt"] = now
        if "pythonRunning" not in details:
            details["pythonRunning"] = self.python_running(now)
        can_interrupt = (self.active is not None and self.active.interruptible
                         and self.settings.get("interrupt") is not False
                         and (kind == protocol.HANG or kind == protocol.TIMEOUT)
                         and details.get("stuck", False) is not True)
        if not can_interrupt:
            self.recover(now, kind, message, details)
            return
        self.failure = {"kind": kind, "message": message, "details": details}
        self.interrupt_deadline = now + self.settings.get("interruptGrace")
        self.goto(INTERRUPTING, kind)
        self.owner.emit(["interrupt", self.index, self.active.gen])
        if self.task is not None:
            self.owner.emit(["cancel", self.index, self.active.gen, self.task.id])
        self.send_ping(now, self.settings.get("interruptGrace"))

    def interrupt_succeeded(self, now):
        failure = self.failure
        self.failure = None
        self.interrupt_deadline = None
        self.goto(READY, "pong after interrupt")
        self.fresh_round(now)
        details = failure["details"]
        details["interruptTried"] = True
        self.announce(now, failure["kind"], failure["message"], details, "interrupt", False,
                      self.generation())

    def announce(self, now, kind, message, details, recovered, state_lost, gen):
        details["kind"] = kind
        details["message"] = message
        details["generation"] = gen
        details["recovered"] = recovered
        details["stateLost"] = state_lost
        details["member"] = self.index
        if "interruptTried" not in details:
            details["interruptTried"] = False
        if "stuck" not in details:
            details["stuck"] = False
        if "pythonRunning" not in details:
            details["pythonRunning"] = self.python_running(now)
        if "verdictAt" not in details:
            details["verdictAt"] = now
        self.last_failure = details
        self.owner.emit(["failure", self.index, details])

    def recover(self, now, kind, message, details):
        """Terminate the worker and replace it: spare first, then a restart after backoff."""
        if self.state == STARTING and kind != protocol.LOAD:
            kind = protocol.LOAD
        if "pythonRunning" not in details:
            details["pythonRunning"] = self.python_running(now)
        old_gen = self.generation()
        self.goto(RECOVERING, kind)
        self.failure = None
        self.interrupt_deadline = None
        self.probe_deadline = None
        self.pings = []
        self.next_ping_at = None
        if self.active is not None:
            self.owner.emit(["terminate", self.index, self.active.gen])
            self.active = None
        if self.task is not None:
            task = self.task
            self.task = None
            self.owner.task_lost(now, task, kind, message, old_gen)
        self.progress_changed_at = None

        if not self.settings.get("autoRestart"):
            self.fail(now, kind, message + "; autoRestart is off, call restart()", details, old_gen)
            return
        delay = self.policy.next_delay(now)
        if delay < 0:
            limit = (" (restart limit reached: " + str(self.settings.get("maxRestarts"))
                     + " restarts within " + str(self.settings.get("restartWindow")) + " ms)")
            self.fail(now, kind, message + limit, details, old_gen)
            return
        self.restarts += 1

        if self.spare is not None:
            spare = self.spare
            self.spare = None
            self.active = spare
            self.last_gen = spare.gen
            self.next_ping_at = None
            if spare.loaded:
                self.goto(READY, "spare took over")
                self.fresh_round(now)
            else:
                self.goto(STARTING, "spare took over")
            self.announce(now, kind, message, details, "spare", True, old_gen)
            return

        self.restart_at = now + delay
        self.announce(now, kind, message, details, "restart", True, old_gen)
        if delay == 0:
            self.restart_at = None
            self.request_spawn(now)

    def fail(self, now, kind, message, details, gen):
        if self.spare is not None:
            self.owner.emit(["terminate", self.index, self.spare.gen])
            self.spare = None
        self.goto(FAILED, kind)
        self.announce(now, kind, message, details, None, True, gen)
        self.owner.member_failed(now)

    def on_spare_failure(self, now, kind, message):
        """Replace a spare that failed to load, after a backoff from the spares' own budget."""
        self.owner.emit(["terminate", self.index, self.spare.gen])
        self.spare = None
        delay = self.spare_policy.next_delay(now)
        if delay < 0:
            # The spare budget is spent: wait a whole window before loading spares again.
            self.spare_policy.reset()
            delay = self.settings.get("restartWindow")
        self.spare_retry_at = now + max(delay, self.settings.get("backoffInitial"))

    # -- time -----------------------------------------------------------------------------

    def tick(self, now, late, hidden, due):
        handled = self.first_message_after_due
        self.first_message_after_due = None
        if late and handled is not None and handled - due <= self.settings.get("lateTolerance"):
            # The page handled this worker's messages right after the timer was due, so it
            # was not stalled: a stream of messages held the timer back. After a real stall
            # the first message comes later than that, with the backlog it has to drain.
            late = False
        if self.state == RECOVERING and self.restart_at is not None and now >= self.restart_at:
            self.restart_at = None
            self.request_spawn(now)
        if self.progress_due is not None and now >= self.progress_due:
            # The adapter sampled the counter just before this tick.
            self.progress_due = now + self.settings.get("stuckTimeout") / 4

        # A late tick discards the round; a deadline that passed meanwhile is judged at
        # the next tick, once the messages that waited behind the stall have arrived.
        judge_deadlines = not late or self.deferred
        if late:
            self.deferred = True
            self.fresh_round(now)
        else:
            self.deferred = False
            if self.heartbeat_on() and self.next_ping_at is not None and now >= self.next_ping_at:
                self.send_ping(now, self.settings.get("pongTimeout"))
                self.next_ping_at = now + self.settings.get("pingInterval")
        if not judge_deadlines:
            return

        # Deadlines that stand whether or not the page is visible.
        if self.spare is not None and not self.spare.loaded and now >= self.spare.startup_deadline:
            self.on_spare_failure(now, protocol.LOAD, "startup deadline passed")
        if self.active is not None and self.state == STARTING and now >= self.active.startup_deadline:
            self.recover(now, protocol.LOAD, "the worker did not report ready within startupTimeout ("
                         + str(self.settings.get("startupTimeout")) + " ms)", {})
            return
        if self.state == INTERRUPTING and now >= self.interrupt_deadline:
            failure = self.failure
            details = failure["details"]
            details["interruptTried"] = True
            self.recover(now, failure["kind"], failure["message"]
                         + "; the interrupt did not take within interruptGrace ("
                         + str(self.settings.get("interruptGrace")) + " ms)", details)
            return
        if self.probe_deadline is not None and now >= self.probe_deadline and not self.heartbeat_on():
            self.probe_deadline = None
        if self.probe_deadline is not None and now >= self.probe_deadline:
            self.verdict(now, protocol.CRASH, "the worker raised an error event and did not answer the probe ping", {})
            return
        if self.state == BUSY and self.task.deadline is not None and now >= self.task.deadline:
            self.verdict(now, protocol.TIMEOUT, "the task ran past its timeout ("
                         + str(self.task.timeout) + " ms)", {})
            return
        if self.stuck(now):
            self.verdict(now, protocol.HANG, "the progress counter stopped for "
                         + str(now - self.progress_changed_at)
                         + " ms: the worker is blocked below Python", {"stuck": True, "pythonRunning": False})
            return

        # Heartbeat verdicts wait while the page is hidden or stalled.
        if late or hidden or not self.heartbeat_on():
            return
        if self.state == BUSY and self.task.deadline is not None:
            return
        if self.state == READY and self.detector is not None and self.detector.ready():
            if self.detector.suspects(now):
                self.verdict(now, protocol.HANG, "no pong for " + str(now - self.last_pong_at)
                             + " ms (phi above " + str(self.settings.get("phiThreshold")) + ")", {})
            return
        deadline = self.pong_deadline()
        if deadline is not None and now >= deadline:
            silent = now - self.pings[0][2]
            self.verdict(now, protocol.HANG, "no pong within pongTimeout ("
                         + str(self.settings.get("pongTimeout")) + " ms)",
                         {"silentForMs": silent})

    def wakeups(self, now, hidden):
        times = []
        if self.deferred:
            times.append(now)
        if self.restart_at is not None:
            times.append(self.restart_at)
        if self.spare is not None and not self.spare.loaded:
            times.append(self.spare.startup_deadline)
        if self.spare_retry_at is not None and self.spare_retry_at > now:
            times.append(self.spare_retry_at)
        if self.active is not None and self.state == STARTING:
            times.append(self.active.startup_deadline)
        if self.state == INTERRUPTING:
            times.append(self.interrupt_deadline)
        if self.probe_deadline is not None:
            times.append(self.probe_deadline)
        if self.heartbeat_on():
            if self.next_ping_at is not None:
                times.append(self.next_ping_at)
            judged = not hidden and not (self.state == BUSY and self.task.deadline is not None)
            phi_rules = self.detector is not None and self.state == READY and self.detector.ready()
            deadline = self.pong_deadline()
            if deadline is not None and judged and not phi_rules:
                times.append(deadline)
            if phi_rules and judged:
                phi_at = self.detector.deadline()
                if phi_at is not None:
                    times.append(phi_at)
        if self.state == BUSY and self.task.deadline is not None:
            times.append(self.task.deadline)
        if self.beacon_on() and self.progress_due is not None:
            times.append(self.progress_due)
        return times

    # -- events from the worker --------------------------------------------------------------

    def on_ready(self, now, incarnation, interruptible, progress):
        incarnation.loaded = True
        incarnation.ready_at = now
        incarnation.interruptible = interruptible
        incarnation.progress = progress
        if incarnation is self.spare:
            return
        self.goto(READY, "ready")
        self.fresh_round(now)

    def on_worker_failure(self, now, incarnation, kind, message):
        if incarnation is self.spare:
            self.on_spare_failure(now, kind, message)
            return
        if self.state == STARTING:
            kind = protocol.LOAD
        self.recover(now, kind, message, {})

    # -- commands -------------------------------------------------------------------------

    def restart(self, now):
        if self.state == STOPPED:
            return
        for incarnation in [self.active, self.spare]:
            if incarnation is not None:
                self.owner.emit(["terminate", self.index, incarnation.gen])
        gen = self.generation()
        self.active = None
        self.spare = None
        self.spare_retry_at = None
        self.failure = None
        self.interrupt_deadline = None
        self.restart_at = None
        self.pings = []
        self.policy.reset()
        if self.task is not None:
            task = self.task
            self.task = None
            self.owner.reject(task, protocol.STOPPED, "the worker was restarted by restart()", gen)
        self.request_spawn(now)
        if self.waiting_to_spawn:
            self.goto(STARTING, "restart()")

    def stop(self, now):
        for incarnation in [self.active, self.spare]:
            if incarnation is not None:
                self.owner.emit(["terminate", self.index, incarnation.gen])
        gen = self.generation()
        self.spare = None
        self.waiting_to_spawn = False
        if self.task is not None:
            task = self.task
            self.task = None
            self.owner.reject(task, protocol.STOPPED, "the supervisor was stopped", gen)
        if self.state != STOPPED:
            self.goto(STOPPED, "stop()")
        self.active = None

    def stats(self, now):
        busy_for = None
        if self.task is not None and self.task.started_at is not None:
            busy_for = now - self.task.started_at
        return {
            "member": self.index,
            "state": self.state,
            "generation": self.generation(),
            "restarts": self.restarts,
            "errorEvents": self.error_events,
            "pingsSent": self.pings_sent,
            "pongsReceived": self.pongs_received,
            "lastRttMs": self.last_rtt,
            "busyForMs": busy_for,
            "progressRate": self.progress_rate if self.beacon_on() else None,
            "interruptible": self.active is not None and self.active.interruptible,
            "spareReady": self.spare is not None and self.spare.loaded,
            "dispatchable": self.dispatchable(now),
        }


def create(names, lookup, pool, nonce_source, now):
    """Validate the options (raises OptionError) and build the supervision."""
    return Supervision(Settings(names, lookup, pool), nonce_source, now)


class Supervision:
    """The members and the task queue; a Supervisor has one member, a Pool several."""

    def __init__(self, settings, nonce_source, now):
        self.settings = settings
        self.nonce_source = nonce_source
        self.members = []
        self.queue = []
        self.tasks = {}
        self.actions = []
        self.generations = 0
        self.sequence = 0
        self.ignored = 0
        self.hidden = False
        self.frozen_at = None
        self.wakeup = None
        self.stopped = False
        self.round_robin = 0

    # -- helpers for members --------------------------------------------------------------

    def emit(self, action):
        self.actions.append(action)

    def take(self):
        actions = self.actions
        self.actions = []
        return actions

    def new_generation(self):
        self.generations += 1
        return self.generations

    def new_sequence(self):
        self.sequence += 1
        return self.sequence

    def new_nonce(self):
        return self.nonce_source()

    def spawn_waiting(self, now):
        """Start waiting members and spares while fewer than startConcurrency load."""
        limit = self.settings.get("startConcurrency")
        for member in self.members:
            if not member.waiting_to_spawn:
                continue
            if self.starting_count() >= limit:
                return
            member.spawn(now)
        for member in self.members:
            if self.starting_count() >= limit:
                return
            if member.wants_spare(now):
                member.spawn_spare(now)

    def starting_count(self):
        count = 0
        for member in self.members:
            count += member.starting_count()
        return count

    def forget_task(self, task_id):
        key = str(task_id)
        if key in self.tasks:
            del self.tasks[key]

    def reject(self, task, kind, message, gen):
        self.emit(["reject", task.id, kind, message, gen])
        self.forget_task(task.id)

    def task_lost(self, now, task, kind, message, gen):
        """Retry or reject a task whose worker was taken by a verdict."""
        if task.attempts <= self.settings.get("retries"):
            task.started_at = None
            task.deadline = None
            self.queue.insert(0, task)
            return
        self.reject(task, kind, message, gen)

    def member_failed(self, now):
        if self.alive_count() > 0:
            return
        cause = self.last_failure()
        message = "no worker left to run the task; call restart()"
        if cause is not None:
            message = message + " (last failure: " + cause["kind"] + ": " + cause["message"] + ")"
        queue = self.queue
        self.queue = []
        for task in queue:
            self.reject(task, NO_WORKER, message, 0)

    def alive_count(self):
        count = 0
        for member in self.members:
            if member.alive():
                count += 1
        return count

    def last_failure(self):
        latest = None
        for member in self.members:
            failure = member.last_failure
            if failure is not None and (latest is None or failure["verdictAt"] >= latest["verdictAt"]):
                latest = failure
        return latest

    def find(self, gen):
        """Return [member, incarnation] for a live generation, or None."""
        for member in self.members:
            if member.active is not None and member.active.gen == gen:
                return [member, member.active]
            if member.spare is not None and member.spare.gen == gen:
                return [member, member.spare]
        return None

    def dispatch(self, now):
        count = len(self.members)
        while len(self.queue) > 0:
            chosen = None
            for offset in range(count):
                member = self.members[(self.round_robin + offset) % count]
                if member.dispatchable(now):
                    chosen = member
                    break
            if chosen is None:
                return
            self.round_robin = (chosen.index + 1) % count
            task = self.queue.pop(0)
            chosen.assign(now, task)

    def finish(self, now):
        if not self.stopped:
            self.spawn_waiting(now)
            self.dispatch(now)
        return self.take()

    # -- commands from the page ----------------------------------------------------------

    def start(self, now):
        size = self.settings.get("size")
        for index in range(size):
            member = Member(self, index, now)
            self.members.append(member)
            member.waiting_to_spawn = True
        return self.finish(now)

    def submit(self, now, task_id, timeout):
        task = Task(task_id, timeout, now)
        if self.stopped:
            self.reject(task, protocol.STOPPED, "the supervisor was stopped", 0)
            return self.take()
        if self.alive_count() == 0:
            cause = self.last_failure()
            message = "no worker left to run the task; call restart()"
            if cause is not None:
                message = message + " (last failure: " + cause["kind"] + ": " + cause["message"] + ")"
            self.reject(task, NO_WORKER, message, 0)
            return self.take()
        if len(self.queue) >= self.settings.get("maxQueue"):
            self.reject(task, OVERLOADED, "the queue is full (maxQueue "
                        + str(self.settings.get("maxQueue")) + " tasks); retry later", 0)
            return self.take()
        self.tasks[str(task_id)] = task
        self.queue.append(task)
        return self.finish(now)

    def restart(self, now):
        if self.stopped:
            return self.take()
        for member in self.members:
            member.restart(now)
        return self.finish(now)

    def stop(self, now):
        if self.stopped:
            return self.take()
        self.stopped = True
        for member in self.members:
            member.stop(now)
        queue = self.queue
        self.queue = []
        for task in queue:
            self.reject(task, protocol.STOPPED, "the supervisor was stopped", 0)
        return self.take()

    def interrupt(self, now):
        """Ask every busy interruptible worker to interrupt its task; return the actions."""
        for member in self.members:
            if member.state == BUSY and member.active.interruptible and member.task is not None:
                self.emit(["interrupt", member.index, member.active.gen])
                self.emit(["cancel", member.index, member.active.gen, member.task.id])
        return self.take()

    def visibility(self, now, hidden):
        was_hidden = self.hidden
        self.hidden = hidden
        if was_hidden and not hidden:
            for member in self.members:
                member.fresh_round(now)
        return self.finish(now)

    def frozen(self, now):
        """Record that the page was frozen. Its workers stop with it, so their deadlines stop too."""
        self.frozen_at = now
        return self.take()

    def resumed(self, now):
        """The page resumed from frozen: discard the rounds and move the deadlines on."""
        paused = 0
        if self.frozen_at is not None:
            paused = max(0, now - self.frozen_at)
        self.frozen_at = None
        for member in self.members:
            member.shift_deadlines(paused)
            member.fresh_round(now)
        return self.finish(now)

    def tick(self, now):
        """Judge deadlines; the adapter calls this when the timer armed at `wakeup` fires."""
        due = self.wakeup
        late = due is not None and now - due > self.settings.get("lateTolerance")
        self.wakeup = None
        for member in self.members:
            if not self.stopped:
                member.tick(now, late, self.hidden, due)
        return self.finish(now)

    def next_wakeup(self, now):
        """Return the time the adapter's one timer should fire, or None.

        A timer already armed for an earlier time stays armed: moving it on every event
        would let a stream of messages postpone it for ever, and its lateness is measured
        from the time it was armed for.
        """
        if self.stopped:
            self.wakeup = None
            return None
        earliest = None
        for member in self.members:
            for at in member.wakeups(now, self.hidden):
                if earliest is None or at < earliest:
                    earliest = at
        if earliest is not None and earliest < now:
            earliest = now
        if self.wakeup is not None and earliest is not None and self.wakeup <= earliest:
            return self.wakeup
        self.wakeup = earliest
        return earliest

    # -- events from workers -------------------------------------------------------------

    def ignore(self):
        self.ignored += 1
        return self.take()

    def saw_message(self, now, gen):
        """Note that a message from this generation was handled, valid or not."""
        if self.wakeup is None or now < self.wakeup:
            return
        for member in self.members:
            if member.active is not None and member.active.gen == gen and member.first_message_after_due is None:
                member.first_message_after_due = now

    def on_ready(self, now, gen, interruptible, progress):
        found = self.find(gen)
        if found is None or found[1].loaded:
            return self.ignore()
        found[0].on_ready(now, found[1], interruptible, progress)
        return self.finish(now)

    def on_pong(self, now, gen, seq, nonce):
        found = self.find(gen)
        if found is None or found[1] is not found[0].active:
            return self.ignore()
        if not found[0].on_pong(now, seq, nonce):
            return self.ignore()
        return self.finish(now)

    def on_result(self, now, gen, task_id):
        found = self.find(gen)
        if found is None or found[1] is not found[0].active:
            return self.ignore()
        if not found[0].on_result(now, task_id):
            return self.ignore()
        return self.finish(now)

    def on_python_error(self, now, gen, task_id, python_type, message):
        found = self.find(gen)
        if found is None or found[1] is not found[0].active:
            return self.ignore()
        if not found[0].on_python_error(now, task_id, python_type, message):
            return self.ignore()
        return self.finish(now)

    def on_worker_failure(self, now, gen, kind, message):
        found = self.find(gen)
        if found is None or not found[0].alive() or found[0].state == RECOVERING:
            return self.ignore()
        found[0].on_worker_failure(now, found[1], kind, message)
        return self.finish(now)

    def on_error_event(self, now, gen, message):
        found = self.find(gen)
        if found is None or not found[0].alive():
            return self.ignore()
        if found[1] is found[0].spare:
            found[0].on_spare_failure(now, protocol.LOAD, message)
            return self.finish(now)
        found[0].on_error_event(now)
        return self.finish(now)

    def on_progress(self, now, gen, count):
        found = self.find(gen)
        if found is None or found[1] is not found[0].active:
            return self.take()
        found[0].on_progress(now, count)
        return self.finish(now)

    # -- reading ------------------------------------------------------------------------

    def is_starting(self, gen):
        """Whether this generation is a worker that has not reported ready yet."""
        found = self.find(gen)
        return found is not None and not found[1].loaded

    def beacon_generations(self):
        """The generations whose progress counter the adapter should sample before a tick."""
        gens = []
        for member in self.members:
            if member.beacon_on():
                gens.append(member.active.gen)
        return gens

    def state(self):
        """The overall state: a lone member's state, or for a pool the best one."""
        if len(self.members) == 1:
            return self.members[0].state
        for candidate in [READY, BUSY, INTERRUPTING, UNRESPONSIVE, RECOVERING, STARTING, FAILED, STOPPED]:
            for member in self.members:
                if member.state == candidate:
                    return candidate
        return STARTING

    def stats(self, now):
        members = []
        restarts = 0
        error_events = 0
        pings = 0
        pongs = 0
        alive = 0
        ready = 0
        for member in self.members:
            entry = member.stats(now)
            members.append(entry)
            restarts += member.restarts
            error_events += member.error_events
            pings += member.pings_sent
            pongs += member.pongs_received
            if member.alive():
                alive += 1
            if member.state == READY or member.state == BUSY:
                ready += 1
        result = {
            "state": self.state(),
            "restarts": restarts,
            "errorEvents": error_events,
            "pingsSent": pings,
            "pongsReceived": pongs,
            "ignoredMessages": self.ignored,
            "queueLength": len(self.queue),
            "size": len(self.members),
            "alive": alive,
            "ready": ready,
            "members": members,
        }
        if len(members) > 0:
            first = members[0]
            result["generation"] = first["generation"]
            result["lastRttMs"] = first["lastRttMs"]
            result["busyForMs"] = first["busyForMs"]
            result["progressRate"] = first["progressRate"]
        return result
