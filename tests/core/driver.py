"""A fake adapter for the core tests: it feeds events at explicit integer times, keeps every
action, and calls next_wakeup() after each event, as the browser adapter does."""

import core
import replay


class BusyLoop(AssertionError):
    """Raised when ticking at next_wakeup stops moving the clock forward."""


class Driver:
    """One Supervision under a fake clock, with simulated workers that reply to pings.

    `reply_to_pings(gen, rtt)` makes a generation healthy: every ping sent to it gets a
    pong `rtt` ms later (`rtt` is a number or a function returning one). `hang(gen)`
    silences it again and drops the pongs still in flight.
    """

    def __init__(self, options=None, pool=False):
        values = dict(options or {})
        self.supervision = core.create(list(values), values.get, pool, replay.counting_nonces(), 0)
        self.now = 0
        self.log = []            # [time, action] in the order the core emitted them
        self.wakeup = None
        self.healthy = {}        # gen -> rtt in ms, or a function returning one
        self.in_flight = []      # [arrival time, gen, seq, nonce]
        self.pong_times = []     # [time, gen] of every pong the core accepted
        self.before_tick = None  # called with the time just before each tick of `run`

    # -- events --------------------------------------------------------------------------

    def apply(self, now, method, *args):
        if now < self.now:
            raise ValueError("time went backwards: " + str(now) + " < " + str(self.now))
        self.now = now
        actions = getattr(self.supervision, method)(now, *args)
        for action in actions:
            self.log.append([now, action])
            if action[0] == "ping" and action[2] in self.healthy:
                rtt = self.healthy[action[2]]
                if callable(rtt):
                    rtt = rtt()
                self.in_flight.append([now + rtt, action[2], action[3], action[4]])
        self.wakeup = self.supervision.next_wakeup(now)
        return actions

    def start(self, now=0):
        return self.apply(now, "start")

    def ready(self, now, gen, interruptible=False, progress=False):
        return self.apply(now, "on_ready", gen, interruptible, progress)

    def pong(self, now, gen):
        """Send the pong for the newest ping sent to `gen`, with its sequence number and nonce."""
        ping = replay.latest_ping(self.supervision, gen)
        if ping is None:
            raise AssertionError("no ping outstanding for generation " + str(gen) + " at " + str(now))
        return self.deliver_pong(now, gen, ping[0], ping[1])

    def deliver_pong(self, now, gen, seq, nonce):
        """Send one pong. `pong_times` records it when the core accepts it."""
        ignored = self.supervision.ignored
        actions = self.apply(now, "on_pong", gen, seq, nonce)
        if self.supervision.ignored == ignored:
            self.pong_times.append([now, gen])
        return actions

    def latest_ping(self, gen):
        return replay.latest_ping(self.supervision, gen)

    def submit(self, now, task, timeout=None):
        return self.apply(now, "submit", task, timeout)

    def result(self, now, gen, task):
        return self.apply(now, "on_result", gen, task)

    def python_error(self, now, gen, task, python_type, message="raised"):
        return self.apply(now, "on_python_error", gen, task, python_type, message)

    def worker_failed(self, now, gen, kind, message="reported by the worker"):
        return self.apply(now, "on_worker_failure", gen, kind, message)

    def error_event(self, now, gen):
        return self.apply(now, "on_error_event", gen, "error event")

    def progress(self, now, gen, count):
        return self.apply(now, "on_progress", gen, count)

    def hidden(self, now, flag):
        return self.apply(now, "visibility", flag)

    def restart(self, now):
        return self.apply(now, "restart")

    def stop(self, now):
        return self.apply(now, "stop")

    def tick(self, now=None):
        """Tick at `now`, or at the current wakeup when `now` is None."""
        if now is None:
            now = self.wakeup
        return self.apply(now, "tick")

    # -- simulated workers ---------------------------------------------------------------

    def reply_to_pings(self, gen, rtt=10):
        self.healthy[gen] = rtt

    def hang(self, gen):
        if gen in self.healthy:
            del self.healthy[gen]
        self.in_flight = [pong for pong in self.in_flight if pong[1] != gen]

    def run(self, end, until=None, max_steps=5000):
        """Deliver pongs and tick at every wakeup up to and including `end`.

        Returns early once `until()` is true, checked before each event. Pongs go first when a pong
        and a tick fall on the same millisecond. Raises BusyLoop when more than three ticks
        in a row happen at the same time.
        """
        same_time_ticks = 0
        for _ in range(max_steps):
            if until is not None and until():
                return
            self.in_flight.sort(key=lambda pong: pong[0])
            pong_at = self.in_flight[0][0] if len(self.in_flight) > 0 else None
            tick_at = self.wakeup
            if pong_at is not None and pong_at <= end and (tick_at is None or pong_at <= tick_at):
                pong = self.in_flight.pop(0)
                self.deliver_pong(max(pong[0], self.now), pong[1], pong[2], pong[3])
                continue
            if tick_at is None or tick_at > end:
                self.now = max(self.now, end)
                return
            if tick_at <= self.now:
                same_time_ticks += 1
                if same_time_ticks > 3:
                    raise BusyLoop("next_wakeup stays at " + str(tick_at) + " after "
                                   + str(same_time_ticks) + " ticks at " + str(self.now))
            else:
                same_time_ticks = 0
            tick_at = max(tick_at, self.now)
            if self.before_tick is not None:
                self.before_tick(tick_at)
            self.tick(tick_at)
        raise AssertionError("run(" + str(end) + ") did not finish within " + str(max_steps) + " steps")

    # -- reading the log -----------------------------------------------------------------

    def actions(self, name, since=0):
        """Return [time, action] for every action called `name`, from log index `since`."""
        return [entry for entry in self.log[since:] if entry[1][0] == name]

    def failures(self, since=0):
        """Return the details dict of every failure event, in order."""
        return [entry[1][2] for entry in self.actions("failure", since)]

    def states(self, member=0, since=0):
        return [entry[1][2] for entry in self.actions("state", since) if entry[1][1] == member]

    def settled(self, task):
        """Return the resolve and reject actions of one task."""
        return [entry[1] for entry in self.log
                if entry[1][0] in ("resolve", "reject") and entry[1][1] == task]

    def last_pong(self, gen):
        times = [entry[0] for entry in self.pong_times if entry[1] == gen]
        return times[len(times) - 1] if len(times) > 0 else None

    def member(self, index=0):
        return self.supervision.members[index]
