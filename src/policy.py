"""Policies the supervision core consults: restart budget and backoff, and detectors.

Pure functions of the times they are given; nothing here reads a clock.
"""

import math


class RestartPolicy:
    """Bounded restarts in the manner of Erlang/OTP's restart intensity.

    At most `max_restarts` restarts within any `window` ms; one more means the worker has
    failed for good. The first restart in a window runs at once, the next ones wait
    `initial`, `initial * factor`, ... up to `maximum` ms. Restarts older than the window
    are forgotten, so a stretch of `window` ms without a restart resets the backoff too.
    """

    def __init__(self, max_restarts, window, initial, factor, maximum):
        self.max_restarts = max_restarts
        self.window = window
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
        self.times = []

    def _forget_old(self, now):
        kept = []
        for at in self.times:
            if now - at < self.window:
                kept.append(at)
        self.times = kept

    def next_delay(self, now):
        """Record a restart at `now`; return its delay in ms, or -1 when the budget is spent."""
        self._forget_old(now)
        count = len(self.times)
        if count >= self.max_restarts:
            return -1
        self.times.append(now)
        if count == 0:
            return 0
        delay = self.initial
        step = 1
        while step < count and delay < self.maximum:
            delay = delay * self.factor
            step += 1
        return min(delay, self.maximum)

    def reset(self):
        self.times = []


class PhiAccrual:
    """The phi accrual failure detector (Hayashibara, Defago, Yared and Katayama, 2004).

    It keeps the last `window` intervals between heartbeat arrivals (here: pongs) and
    gives phi = -log10(P(a heartbeat arrives later than now)), under a normal
    distribution fitted to those intervals. The CDF uses the logistic approximation
    that Akka's implementation uses, so no erf is needed in either runtime.
    """

    def __init__(self, threshold, window, min_std, acceptable_pause):
        self.threshold = threshold
        self.window = window
        self.min_std = min_std
        self.acceptable_pause = acceptable_pause
        self.intervals = []
        self.last_arrival = None
        self.restarted = False
        self.cached_deadline = None

    def heartbeat(self, now):
        if self.last_arrival is not None and not self.restarted:
            self.intervals.append(now - self.last_arrival)
            if len(self.intervals) > self.window:
                self.intervals.pop(0)
        self.last_arrival = now
        self.restarted = False
        self.cached_deadline = None

    def restart(self, now):
        """Count the silence from now, as after a stall; the next arrival adds no interval."""
        self.last_arrival = now
        self.restarted = True
        self.cached_deadline = None

    def ready(self):
        return len(self.intervals) >= 3

    def mean_and_std(self):
        total = 0
        for value in self.intervals:
            total += value
        mean = total / len(self.intervals)
        spread = 0
        for value in self.intervals:
            spread += (value - mean) * (value - mean)
        std = math.sqrt(spread / len(self.intervals))
        # As in Akka, an acceptable pause widens the expected interval: a healthy worker on a
        # loaded machine replies late now and then, and phi alone would condemn it.
        return [mean + self.acceptable_pause, max(std, self.min_std)]

    def phi(self, now):
        if self.last_arrival is None or not self.ready():
            return 0
        stats = self.mean_and_std()
        return phi_of(now - self.last_arrival, stats[0], stats[1])

    def suspects(self, now):
        return self.ready() and self.phi(now) > self.threshold

    def deadline(self):
        """Return when phi passes the threshold if nothing arrives, to within std / 10."""
        if self.last_arrival is None or not self.ready():
            return None
        if self.cached_deadline is not None:
            return self.cached_deadline
        stats = self.mean_and_std()
        step = stats[1] / 10
        elapsed = stats[0]
        count = 0
        # At most 400 steps: phi passes any threshold below 100 within 40 standard deviations.
        while count < 400 and phi_of(elapsed, stats[0], stats[1]) <= self.threshold:
            elapsed += step
            count += 1
        self.cached_deadline = self.last_arrival + elapsed
        return self.cached_deadline


def phi_of(elapsed, mean, std):
    """Phi for a silence of `elapsed` ms under a normal law with this mean and std."""
    y = (elapsed - mean) / std
    # Clamp so that exp() cannot overflow for a very long silence.
    y = max(-30, min(30, y))
    e = math.exp(-y * (1.5976 + 0.070566 * y * y))
    if elapsed > mean:
        probability_later = e / (1 + e)
    else:
        probability_later = 1 - 1 / (1 + e)
    if probability_later < 1e-300:
        probability_later = 1e-300
    return -math.log10(probability_later)
