"""Cost benchmarks: the heartbeat's cost in throughput and round trips, a pool's speedup,
and the progress beacon's cost. Each function returns a dict of figures."""

from bench.page import BenchPage
from bench.summary import median, percentile, ratio

# Throughput: many small tasks in batches that rotate through the heartbeat settings.
# Each setting runs on two supervisors, because two workers with the same settings can
# differ by several percent.
SMALL_TASK = "1 + 1"
TASKS_PER_SETTING = 4000
BATCH = 100
WORKERS_PER_SETTING = 2
WARM_UP = 300
# Other processes stretch some batches several times over. The lower quartile of the
# batch times keeps the batches that ran undisturbed. A 100-task batch lasts about 100 ms,
# so even the quick batches contain the 50 ms heartbeat's pings.
# NOTE: at 2000 ms most batches contain no ping, so the quartile leaves the pings out. One
# ping every 2 s costs about one pong round trip (0.2 ms here), under 0.02 % of the time,
# which is far below what this comparison can resolve.
QUIET_QUANTILE = 0.25
HEARTBEATS = {
    "off": {"pingInterval": 1e9, "pongTimeout": 2e9, "lateTolerance": 1e8},
    "2000ms": {"pingInterval": 2000, "pongTimeout": 5000, "lateTolerance": 1000},
    "50ms": {"pingInterval": 50, "pongTimeout": 1000, "lateTolerance": 500},
}
THROUGHPUT_TARGETS = {"2000ms": 0.99, "50ms": 0.95}
# The same comparison on one raw worker, with pings posted by a page timer: no supervisor,
# but no difference between workers either. Two modes without pings give its noise floor.
PROTOCOL_MODES = {"off": None, "off-again": None, "2000ms": 2000, "50ms": 50}
PROTOCOL_ROUNDS = 30
RTT_SAMPLES = 200
SUPERVISOR_RTT_SAMPLES = 60

# CPU-bound work sized to about this long on one worker.
CPU_TASK_S = 0.5
CPU_TASKS = 8
POOL_REPEATS = 2
BEACON_PAIRS = 9
# Long tasks get a deadline, so the heartbeat does not judge them.
LONG_TASK = {"timeout": 30000}


def timed_squares(n):
    """Python that sums i*i for i below n and returns its own run time in seconds."""
    return ("import time\nstarted = time.perf_counter()\nsum(i * i for i in range(" + str(n) + "))\n"
            "time.perf_counter() - started")


# The sum is reduced modulo a prime so that it stays below 2 ** 53 and arrives as a plain
# JavaScript number rather than a BigInt.
MODULUS = 1000003


def squares(n):
    return "sum(i * i for i in range(" + str(n) + ")) % " + str(MODULUS)


def calibrate(page, name, seconds):
    """Return the n for which summing i*i below n takes about `seconds` on this worker."""
    n = 200000
    for _ in range(4):
        took = page.call("value", name, timed_squares(n), LONG_TASK)
        if took >= seconds / 4:
            break
        n *= 4
    return max(1, round(n * seconds / took))


def worker_names(label):
    return [label + "-" + str(index) for index in range(WORKERS_PER_SETTING)]


def overhead(browser, origin, log):
    """Measure throughput with the heartbeat at 2000 ms and 50 ms over throughput with it off,
    then the same on one raw worker, then the pong round trip beside a bare JavaScript echo.

    Each ratio compares the lower quartiles of the settings' batch times (see
    QUIET_QUANTILE). The two heartbeat-off supervisors, compared the same way, give the
    noise floor. The median over rounds of the ratio within a round is kept as a second
    estimate.
    """
    page = BenchPage(browser, origin)
    names = [name for label in HEARTBEATS for name in worker_names(label)]
    rounds = TASKS_PER_SETTING // (BATCH * WORKERS_PER_SETTING)
    try:
        for label, options in HEARTBEATS.items():
            for name in worker_names(label):
                page.make(name, options)
        for name in names:
            page.call("waitReady", name)
            warm = page.call("batch", name, SMALL_TASK, WARM_UP, None)
            if warm["rejected"] != 0:
                raise AssertionError(name + ": warm-up tasks were rejected")
        log("throughput: %d rounds of %d tasks on each of %d supervisors" % (rounds, BATCH, len(names)))
        table = page.call("rotate", names, SMALL_TASK, "2", rounds, BATCH)
        supervisor_rtt = page.call("sampleRtt", "50ms-0", SUPERVISOR_RTT_SAMPLES)
        pings_50 = sum(page.call("stats", name)["pingsSent"] for name in worker_names("50ms"))
        for name in names:
            page.call("stop", name)
        trips = page.call("rawRoundTrips", RTT_SAMPLES)
        protocol = page.call("rawThroughput", PROTOCOL_MODES, SMALL_TASK, PROTOCOL_ROUNDS, BATCH)
    finally:
        page.close()

    def batch_times(names_of_setting):
        return [row[name] for row in table for name in names_of_setting]

    def quiet_rate(names_of_setting):
        return BATCH * 1000 / percentile(batch_times(names_of_setting), QUIET_QUANTILE)

    def round_rate(row, label):
        return BATCH * WORKERS_PER_SETTING * 1000 / sum(row[name] for name in worker_names(label))

    quiet = {label: quiet_rate(worker_names(label)) for label in HEARTBEATS}
    quiet_ratio = {label: quiet[label] / quiet["off"] for label in HEARTBEATS}
    paired = {label: median([round_rate(row, label) / round_rate(row, "off") for row in table]) for label in HEARTBEATS}
    off_a, off_b = worker_names("off")[:2]
    noise_floor = quiet_rate([off_b]) / quiet_rate([off_a])
    paired_noise_floor = median([row[off_a] / row[off_b] for row in table])
    totals = {label: TASKS_PER_SETTING * 1000 / sum(batch_times(worker_names(label))) for label in HEARTBEATS}
    log("throughput: %s; off against off %.3f" % (", ".join(
        "%s %.0f tasks/s (ratio %.3f)" % (label, quiet[label], quiet_ratio[label]) for label in HEARTBEATS),
        noise_floor))
    # The same estimate as for the supervisors: lower quartiles of the batch times.
    protocol_quiet = {label: percentile([row[label] for row in protocol], QUIET_QUANTILE) for label in PROTOCOL_MODES}
    protocol_ratio = {label: protocol_quiet["off"] / protocol_quiet[label] for label in PROTOCOL_MODES}
    log("throughput on one raw worker: 2000ms %.3f, 50ms %.3f; off against off %.3f" % (
        protocol_ratio["2000ms"], protocol_ratio["50ms"], protocol_ratio["off-again"]))
    pong = median(trips["ping"])
    echo = median(trips["echo"])
    log("round trips: pong %.3f ms, echo %.3f ms (p50 of %d each)" % (pong, echo, RTT_SAMPLES))
    return {
        "throughput_ratio_2000ms": quiet_ratio["2000ms"],
        "throughput_ratio_50ms": quiet_ratio["50ms"],
        "throughput_noise_floor": noise_floor,
        "tasks_per_s": quiet,
        "tasks_per_s_all_batches": totals,
        "quiet_quantile": QUIET_QUANTILE,
        "paired_ratio_2000ms": paired["2000ms"],
        "paired_ratio_50ms": paired["50ms"],
        "paired_noise_floor": paired_noise_floor,
        "tasks_per_setting": TASKS_PER_SETTING,
        "batch": BATCH,
        "workers_per_setting": WORKERS_PER_SETTING,
        "rounds": rounds,
        "settings": HEARTBEATS,
        "pings_during_50ms_run": pings_50,
        "targets": THROUGHPUT_TARGETS,
        "met_2000ms": quiet_ratio["2000ms"] >= THROUGHPUT_TARGETS["2000ms"],
        "met_50ms": quiet_ratio["50ms"] >= THROUGHPUT_TARGETS["50ms"],
        "protocol_ratio_2000ms": protocol_ratio["2000ms"],
        "protocol_ratio_50ms": protocol_ratio["50ms"],
        "protocol_noise_floor": protocol_ratio["off-again"],
        "protocol_tasks_per_setting": PROTOCOL_ROUNDS * BATCH,
        "batch_ms": table,
        "protocol_batch_ms": protocol,
        "pong_rtt_ms_p50": pong,
        "echo_rtt_ms_p50": echo,
        "pong_rtt_ms_max": max(trips["ping"]),
        "echo_rtt_ms_max": max(trips["echo"]),
        "pong_to_echo_ratio": ratio(pong, echo),
        "rtt_samples": RTT_SAMPLES,
        "supervisor_rtt_ms_p50": median(supervisor_rtt),
        "supervisor_rtt_samples": len(supervisor_rtt),
    }


def pool(browser, origin, log):
    """Time CPU-bound tasks through a Pool of 2 and through one Supervisor, alternating."""
    page = BenchPage(browser, origin)
    totals = {"supervisor": 0.0, "pool": 0.0}
    try:
        page.make("supervisor", {})
        page.make("pool", {"size": 2}, kind="pool")
        page.call("waitReady", "supervisor")
        page.page.wait_for_function("() => bench.stats('pool').ready === 2", timeout=120000)
        n = calibrate(page, "supervisor", CPU_TASK_S)
        expected = str(sum(i * i for i in range(n)) % MODULUS)
        log("pool: %d tasks of sum(i * i) below %d (about %.1f s each on one worker)" % (CPU_TASKS, n, CPU_TASK_S))
        for index in range(POOL_REPEATS):
            for label in ("supervisor", "pool") if index % 2 == 0 else ("pool", "supervisor"):
                done = page.call("batch", label, squares(n), CPU_TASKS, LONG_TASK)
                if done["rejected"] != 0 or done["values"] != [expected]:
                    raise AssertionError(label + ": a CPU task failed: " + str(done))
                totals[label] += done["elapsedMs"]
                log("pool %d/%d: %s %.0f ms" % (index + 1, POOL_REPEATS, label, done["elapsedMs"]))
    finally:
        page.close()
    speedup = ratio(totals["supervisor"], totals["pool"])
    return {
        "speedup_2_members": speedup,
        "supervisor_ms": totals["supervisor"] / POOL_REPEATS,
        "pool_ms": totals["pool"] / POOL_REPEATS,
        "tasks": CPU_TASKS,
        "task_n": n,
        "repeats": POOL_REPEATS,
    }


def beacon(browser, origin, log):
    """Time a tight arithmetic loop with the progress beacon on and off, in alternating pairs."""
    page = BenchPage(browser, origin)
    ratios = []
    times = {"on": [], "off": []}
    try:
        base = {"pingInterval": 2000, "pongTimeout": 5000}
        page.make("on", {**base, "progress": True})
        page.make("off", {**base, "progress": False})
        page.call("waitReady", "on")
        page.call("waitReady", "off")
        if not page.call("stats", "on")["members"][0]["interruptible"]:
            raise AssertionError("the beacon page is not cross-origin isolated")
        n = calibrate(page, "off", CPU_TASK_S)
        code = timed_squares(n)
        for index in range(BEACON_PAIRS):
            order = ("off", "on") if index % 2 == 0 else ("on", "off")
            took = {label: page.call("value", label, code, LONG_TASK) for label in order}
            times["on"].append(took["on"] * 1000)
            times["off"].append(took["off"] * 1000)
            ratios.append(took["on"] / took["off"])
            log("beacon %d/%d: on %.1f ms, off %.1f ms, ratio %.3f" % (
                index + 1, BEACON_PAIRS, took["on"] * 1000, took["off"] * 1000, ratios[-1]))
    finally:
        page.close()
    return {
        "overhead_ratio": median(ratios),
        "on_ms_p50": median(times["on"]),
        "off_ms_p50": median(times["off"]),
        "pairs": BEACON_PAIRS,
        "task_n": n,
        "ratios": ratios,
    }
