"""Unit tests of the supervision core under CPython, with a fake clock.

Times are plain integers in ms passed as `now`; nothing sleeps. The Driver in driver.py plays
the adapter: it calls next_wakeup() after every event and can reply to pings like a healthy
worker. Unless a test sets them, the options keep their defaults: pingInterval 2000,
pongTimeout 5000, lateTolerance 1000, interruptGrace 2000, stuckTimeout 1500.
"""

import random

import pytest

import core
import options
from options import OptionError
from policy import PhiAccrual, RestartPolicy
from tests.core.driver import BusyLoop, Driver

PING = 2000
PONG = 5000
LATE = 1000
GRACE = 2000
STUCK = 1500


def healthy_until(driver, gen, end, at=0, interruptible=False, progress=False, rtt=10):
    """Report `gen` ready at `at`, reply to its pings until `end`, then silence it."""
    driver.reply_to_pings(gen, rtt)
    driver.ready(at, gen, interruptible, progress)
    driver.run(end)
    driver.hang(gen)


def spawn_time(driver, gen):
    for entry in driver.actions("spawn"):
        if entry[1][2] == gen:
            return entry[0]
    return None


def spawned_gens(driver):
    return [entry[1][2] for entry in driver.actions("spawn")]


def action_names(actions):
    return [action[0] for action in actions]


# -- startup ----------------------------------------------------------------------------


def test_startup_deadline_gives_load():
    driver = Driver({"startupTimeout": 10000})
    driver.start(0)
    driver.run(9999)
    assert driver.failures() == []

    driver.run(10000)
    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "load"
    assert failures[0]["generation"] == 1
    assert failures[0]["verdictAt"] == 10000
    assert failures[0]["recovered"] == "restart"
    assert spawn_time(driver, 2) == 10000


def test_startup_no_heartbeat_before_ready():
    driver = Driver({"startupTimeout": 60000})
    driver.start(0)
    for now in range(1000, 60000, 1000):
        driver.tick(now)

    assert driver.actions("ping") == []
    assert driver.failures() == []
    assert driver.supervision.state() == "starting"


def test_startup_fatal_reported_as_load():
    driver = Driver()
    driver.start(0)
    driver.worker_failed(50, 1, "fatal")

    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "load"


def test_startup_error_event_gives_load():
    driver = Driver()
    driver.start(0)
    driver.error_event(50, 1)

    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "load"
    assert ["terminate", 0, 1] in [entry[1] for entry in driver.actions("terminate")]


def test_startup_first_ready_pings():
    driver = Driver()
    driver.start(0)
    actions = driver.ready(300, 1)

    assert action_names(actions) == ["state", "ping"]
    assert actions[0] == ["state", 0, "ready", 1]
    assert driver.wakeup == 300 + PING


# -- heartbeat --------------------------------------------------------------------------


@pytest.mark.parametrize("rtt", [1, 700, 1999])
@pytest.mark.parametrize("silent_from", [20000, 21050, 21999])
def test_hang_verdict_within_bound(rtt, silent_from):
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, silent_from, at=100, rtt=rtt)
    last_pong = driver.last_pong(1)
    driver.run(silent_from + 60000)

    failures = driver.failures()
    assert len(failures) >= 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["generation"] == 1
    assert failures[0]["verdictAt"] - last_pong <= PING + PONG
    assert failures[0]["silentForMs"] >= PONG


def test_hang_while_busy_without_deadline():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10050)
    last_pong = driver.last_pong(1)
    driver.submit(10050, "t1")
    driver.run(40000)

    failures = driver.failures()
    assert len(failures) >= 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["verdictAt"] - last_pong <= PING + PONG
    rejects = driver.settled("t1")
    assert len(rejects) == 1
    assert rejects[0][0] == "reject"
    assert rejects[0][2] == "hang"
    assert rejects[0][4] == 1


def test_late_tick_discards_round():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.run(14999)
    assert driver.wakeup == 15000
    assert driver.failures() == []

    late_at = driver.wakeup + LATE + 1500
    actions = driver.tick(late_at)
    assert "failure" not in action_names(actions)
    assert "ping" in action_names(actions)
    assert driver.wakeup == late_at

    recheck = driver.tick()
    assert "failure" not in action_names(recheck)

    driver.run(late_at + 60000)
    failures = driver.failures()
    assert len(failures) >= 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["verdictAt"] >= late_at + PONG
    assert failures[0]["verdictAt"] <= late_at + PING + PONG


def test_late_tick_within_tolerance_judges():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.run(14999)
    deadline = driver.wakeup

    actions = driver.tick(deadline + LATE)
    failures = [action for action in actions if action[0] == "failure"]
    assert len(failures) == 1
    assert failures[0][2]["kind"] == "hang"


def test_late_tick_spares_replying_worker():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.run(14999)

    late_at = driver.wakeup + LATE + 1500
    driver.tick(late_at)
    driver.reply_to_pings(1)
    driver.pong(late_at + 20, 1)
    driver.run(late_at + 60000)

    assert driver.failures() == []
    assert driver.supervision.state() == "ready"


def test_hidden_page_no_heartbeat_verdict():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.hidden(10000, True)
    driver.run(130000)

    assert driver.failures() == []
    assert driver.supervision.state() == "ready"


def test_hidden_page_task_deadline_fires():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.hidden(10000, True)
    driver.submit(10000, "t1", 8000)
    driver.run(60000)

    failures = driver.failures()
    assert len(failures) >= 1
    assert failures[0]["kind"] == "timeout"
    assert failures[0]["verdictAt"] == 18000
    settled = driver.settled("t1")
    assert len(settled) == 1
    assert settled[0][:3] == ["reject", "t1", "timeout"]


def test_visible_again_gives_full_timeout():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.hidden(10000, True)
    driver.run(40000)
    driver.hidden(40000, False)
    driver.run(40000 + PONG - 1)
    assert driver.failures() == []

    driver.run(100000)
    failures = driver.failures()
    assert len(failures) >= 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["verdictAt"] >= 40000 + PONG
    assert failures[0]["verdictAt"] <= 40000 + PING + PONG


# -- task deadlines ---------------------------------------------------------------------


def test_task_timeout_gives_timeout():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.submit(10000, "t1", 3000)
    driver.run(30000)

    failures = driver.failures()
    assert len(failures) >= 1
    assert failures[0]["kind"] == "timeout"
    assert failures[0]["verdictAt"] == 13000
    assert failures[0]["generation"] == 1
    assert failures[0]["recovered"] == "restart"
    assert driver.settled("t1") == [["reject", "t1", "timeout", "the task ran past its timeout (3000 ms)", 1]]


def test_task_deadline_suspends_heartbeat():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000)
    driver.submit(10000, "t1", 20000)
    driver.run(29999)
    assert driver.failures() == []

    driver.run(30000)
    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "timeout"


def test_task_result_resolves_and_frees_worker():
    driver = Driver()
    driver.start(0)
    driver.ready(0, 1)
    driver.reply_to_pings(1)
    driver.submit(100, "t1", 5000)
    driver.submit(100, "t2")
    driver.run(1000)
    actions = driver.result(1000, 1, "t1")

    assert actions[0] == ["resolve", "t1"]
    assert ["run", 0, 1, "t2"] in actions
    assert driver.settled("t1") == [["resolve", "t1"]]


# -- interrupt --------------------------------------------------------------------------


def hang_busy_interruptible(options=None):
    """Return a Driver whose interruptible worker hung on task t1, stopped at the verdict."""
    driver = Driver(options)
    driver.start(0)
    healthy_until(driver, 1, 10000, interruptible=True)
    driver.submit(10000, "t1")
    driver.run(40000, until=lambda: driver.supervision.state() != "busy")
    return driver


def test_interrupt_recovers_worker():
    driver = hang_busy_interruptible()
    assert driver.states()[-2:] == ["unresponsive", "interrupting"]
    assert [entry[1] for entry in driver.actions("interrupt")] == [["interrupt", 0, 1]]
    assert [entry[1] for entry in driver.actions("cancel")] == [["cancel", 0, 1, "t1"]]
    assert driver.failures() == []

    driver.python_error(driver.now + 30, 1, "t1", "KeyboardInterrupt")
    assert driver.supervision.state() == "interrupting"
    settled = driver.settled("t1")
    assert len(settled) == 1
    assert settled[0][:3] == ["reject", "t1", "interrupted"]
    assert settled[0][4] == 1

    driver.pong(driver.now + 10, 1)
    assert driver.supervision.state() == "ready"
    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["recovered"] == "interrupt"
    assert failures[0]["stateLost"] is False
    assert failures[0]["interruptTried"] is True
    assert failures[0]["generation"] == 1
    assert driver.actions("terminate") == []
    assert spawned_gens(driver) == [1]


def test_interrupt_kept_worker_runs_next_task():
    driver = hang_busy_interruptible()
    driver.python_error(driver.now + 30, 1, "t1", "KeyboardInterrupt")
    driver.pong(driver.now + 10, 1)
    actions = driver.submit(driver.now + 10, "t2")

    assert ["run", 0, 1, "t2"] in actions


def test_interrupt_grace_escalates():
    driver = hang_busy_interruptible()
    interrupted_at = driver.now
    driver.run(interrupted_at + GRACE - 1)
    assert driver.supervision.state() == "interrupting"
    assert driver.failures() == []

    driver.run(interrupted_at + GRACE)
    assert driver.states()[-3:] == ["interrupting", "recovering", "starting"]
    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["interruptTried"] is True
    assert failures[0]["recovered"] == "restart"
    assert failures[0]["stateLost"] is True
    assert ["terminate", 0, 1] in [entry[1] for entry in driver.actions("terminate")]
    assert spawned_gens(driver) == [1, 2]
    assert driver.settled("t1")[0][:3] == ["reject", "t1", "hang"]


def test_not_interruptible_goes_to_recovering():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000, interruptible=False)
    driver.submit(10000, "t1")
    driver.run(40000, until=lambda: len(driver.failures()) > 0)

    assert driver.states()[-3:] == ["unresponsive", "recovering", "starting"]
    assert driver.actions("interrupt") == []
    assert driver.failures()[0]["interruptTried"] is False


def test_interrupt_option_false_skips_interrupt():
    driver = hang_busy_interruptible({"interrupt": False})

    assert driver.actions("interrupt") == []
    assert "interrupting" not in driver.states()
    assert driver.failures()[0]["interruptTried"] is False


def test_stuck_skips_interrupt():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000, interruptible=True, progress=True)
    driver.submit(10000, "t1")
    driver.before_tick = lambda now: driver.progress(now, 1, 42)
    driver.run(40000, until=lambda: len(driver.failures()) > 0)

    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["stuck"] is True
    assert failures[0]["pythonRunning"] is False
    assert failures[0]["interruptTried"] is False
    assert driver.actions("interrupt") == []
    assert failures[0]["verdictAt"] - 10000 >= STUCK
    assert failures[0]["verdictAt"] - 10000 < PING + PONG


def test_progress_advancing_not_stuck():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 10000, progress=True)
    driver.submit(10000, "t1", 20000)
    counter = {"value": 0}

    def sample(now):
        counter["value"] += 1000
        driver.progress(now, 1, counter["value"])

    driver.before_tick = sample
    driver.run(29999)
    assert driver.failures() == []

    driver.run(30000)
    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "timeout"
    assert failures[0]["stuck"] is False
    assert failures[0]["pythonRunning"] is True


# -- forged messages --------------------------------------------------------------------


def test_forged_pongs_ignored():
    driver = Driver()
    driver.start(0)
    healthy_until(driver, 1, 5000)
    driver.restart(5000)
    healthy_until(driver, 2, 15000, at=5100)
    last_pong = driver.last_pong(2)
    ignored_before = driver.supervision.stats(driver.now)["ignoredMessages"]

    forged = 0
    for _ in range(100):
        if len(driver.failures()) > 0 or driver.wakeup is None:
            break
        driver.run(driver.wakeup)
        ping = driver.latest_ping(2)
        if ping is None:
            continue
        seq = ping[0]
        nonce = ping[1]
        driver.deliver_pong(driver.now + 5, 2, seq, nonce + 1)
        driver.deliver_pong(driver.now + 5, 2, seq + 1, nonce)
        driver.deliver_pong(driver.now + 5, 1, seq, nonce)
        forged += 3

    failures = driver.failures()
    assert forged >= 6
    assert len(failures) == 1
    assert failures[0]["kind"] == "hang"
    assert failures[0]["generation"] == 2
    assert failures[0]["verdictAt"] - last_pong <= PING + PONG
    assert driver.supervision.stats(driver.now)["ignoredMessages"] - ignored_before == forged


def test_stale_ready_ignored():
    driver = Driver()
    driver.start(0)
    driver.ready(10, 1)
    actions = driver.ready(20, 1)

    assert actions == []
    assert driver.supervision.stats(20)["ignoredMessages"] == 1


def test_result_for_other_task_ignored():
    driver = Driver()
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1")
    actions = driver.result(30, 1, "t9")

    assert actions == []
    assert driver.settled("t1") == []
    assert driver.supervision.stats(30)["ignoredMessages"] == 1


# -- restart policy ---------------------------------------------------------------------


def test_restart_backoff_grows():
    driver = Driver({"maxRestarts": 6, "restartWindow": 1000000, "backoffInitial": 1000,
                     "backoffFactor": 2, "backoffMax": 5000})
    driver.start(0)
    delays = []
    for gen in range(1, 7):
        born = spawn_time(driver, gen)
        driver.ready(born + 10, gen)
        driver.worker_failed(born + 20, gen, "fatal")
        driver.run(born + 100000, until=lambda: spawn_time(driver, gen + 1) is not None)
        delays.append(spawn_time(driver, gen + 1) - (born + 20))

    assert delays == [0, 1000, 2000, 4000, 5000, 5000]

    born = spawn_time(driver, 7)
    driver.ready(born + 10, 7)
    driver.worker_failed(born + 20, 7, "fatal")
    assert driver.supervision.state() == "failed"
    last = driver.failures()[-1]
    assert last["recovered"] is None
    assert "restart limit reached" in last["message"]
    assert driver.supervision.stats(driver.now)["restarts"] == 6


def test_restart_waits_in_recovering():
    driver = Driver({"backoffInitial": 3000})
    driver.start(0)
    driver.ready(10, 1)
    driver.worker_failed(20, 1, "fatal")
    driver.ready(30, 2)
    driver.worker_failed(40, 2, "crash")

    assert driver.supervision.state() == "recovering"
    # The timer armed for the next ping stays armed; once it fires, the restart is next.
    assert driver.wakeup == 2010
    driver.run(2010)
    assert driver.wakeup == 3040
    driver.run(3039)
    assert spawn_time(driver, 3) is None
    driver.run(3040)
    assert spawn_time(driver, 3) == 3040
    assert driver.supervision.state() == "starting"


def test_restart_budget_spent_rejects_queue():
    driver = Driver({"maxRestarts": 2})
    driver.start(0)
    driver.ready(10, 1)
    driver.worker_failed(20, 1, "fatal")
    driver.ready(30, 2)
    driver.worker_failed(40, 2, "fatal")
    driver.run(1040)
    assert spawn_time(driver, 3) == 1040

    driver.submit(1050, "t1")
    driver.submit(1050, "t2")
    driver.ready(1100, 3)
    driver.worker_failed(1200, 3, "fatal")

    assert driver.supervision.state() == "failed"
    assert driver.settled("t1")[0][:3] == ["reject", "t1", "fatal"]
    queued = driver.settled("t2")
    assert len(queued) == 1
    assert queued[0][:3] == ["reject", "t2", "failed"]
    assert "restart()" in queued[0][3]
    assert driver.submit(1300, "t3")[0][:3] == ["reject", "t3", "failed"]
    assert driver.wakeup is None


def test_restart_after_failed_starts_again():
    driver = Driver({"maxRestarts": 0})
    driver.start(0)
    driver.ready(10, 1)
    driver.worker_failed(20, 1, "fatal")
    assert driver.supervision.state() == "failed"

    actions = driver.restart(1000)
    assert ["spawn", 0, 2] in actions
    assert driver.supervision.state() == "starting"
    driver.ready(1100, 2)
    driver.submit(1200, "t1")
    assert driver.result(1300, 2, "t1")[0] == ["resolve", "t1"]


def test_restart_resets_budget():
    driver = Driver({"maxRestarts": 2})
    driver.start(0)
    for gen in [1, 2]:
        born = spawn_time(driver, gen)
        driver.ready(born + 10, gen)
        driver.worker_failed(born + 20, gen, "fatal")
        driver.run(born + 10000, until=lambda: spawn_time(driver, gen + 1) is not None)
    driver.restart(driver.now + 10)
    restarted = spawn_time(driver, 4)
    driver.ready(restarted + 10, 4)
    actions = driver.worker_failed(restarted + 20, 4, "fatal")

    assert ["spawn", 0, 5] in actions


@pytest.mark.parametrize("max_restarts", [0, 1, 5])
def test_failing_start_spawns_one_plus_max(max_restarts):
    driver = Driver({"maxRestarts": max_restarts, "startupTimeout": 1000})
    driver.start(0)
    driver.run(10 ** 7)

    assert len(driver.actions("spawn")) == 1 + max_restarts
    assert driver.supervision.state() == "failed"
    for failure in driver.failures():
        assert failure["kind"] == "load"
    assert driver.wakeup is None


def test_failing_start_error_events_end_failed():
    driver = Driver({"maxRestarts": 3})
    driver.start(0)
    for _ in range(20):
        if driver.supervision.state() == "failed":
            break
        spawns = len(driver.actions("spawn"))
        driver.error_event(driver.now + 50, spawned_gens(driver)[-1])
        driver.run(driver.now + 100000,
                   until=lambda: len(driver.actions("spawn")) > spawns or driver.supervision.state() == "failed")

    assert driver.supervision.state() == "failed"
    assert len(driver.actions("spawn")) == 4


def test_restart_window_forgets_old_restarts():
    driver = Driver({"maxRestarts": 2, "restartWindow": 10000})
    driver.start(0)
    for gen in range(1, 8):
        born = spawn_time(driver, gen)
        driver.ready(born + 10, gen)
        actions = driver.worker_failed(born + 20000, gen, "fatal")
        assert ["spawn", 0, gen + 1] in actions

    assert driver.supervision.state() == "starting"


def test_auto_restart_off_fails():
    driver = Driver({"autoRestart": False})
    driver.start(0)
    driver.ready(10, 1)
    driver.worker_failed(20, 1, "oom")

    assert driver.supervision.state() == "failed"
    failures = driver.failures()
    assert failures[0]["recovered"] is None
    assert "autoRestart" in failures[0]["message"]
    assert spawned_gens(driver) == [1]


def test_policy_delays_capped():
    policy = RestartPolicy(10, 60000, 500, 3, 10000)
    delays = [policy.next_delay(0) for _ in range(7)]

    assert delays == [0, 500, 1500, 4500, 10000, 10000, 10000]


def test_policy_budget_and_window():
    policy = RestartPolicy(2, 1000, 100, 2, 1000)

    assert policy.next_delay(0) == 0
    assert policy.next_delay(10) == 100
    assert policy.next_delay(20) == -1
    assert policy.next_delay(1005) == 100
    assert policy.next_delay(2100) == 0


# -- retries and settling ---------------------------------------------------------------


def test_retry_requeues_lost_task_once():
    driver = Driver({"retries": 1})
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1")
    driver.worker_failed(30, 1, "fatal")
    assert driver.settled("t1") == []

    actions = driver.ready(40, 2)
    assert ["run", 0, 2, "t1"] in actions

    driver.worker_failed(50, 2, "fatal")
    settled = driver.settled("t1")
    assert len(settled) == 1
    assert settled[0][:3] == ["reject", "t1", "fatal"]
    assert settled[0][4] == 2


def test_no_retries_rejects_lost_task():
    driver = Driver()
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1")
    driver.worker_failed(30, 1, "crash")

    settled = driver.settled("t1")
    assert len(settled) == 1
    assert settled[0][:3] == ["reject", "t1", "crash"]
    assert settled[0][4] == 1


def test_memory_error_gives_oom():
    driver = Driver()
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1")
    driver.python_error(30, 1, "t1", "MemoryError", "out of memory")

    assert driver.failures()[0]["kind"] == "oom"
    assert driver.settled("t1")[0][:3] == ["reject", "t1", "oom"]
    assert driver.supervision.state() == "starting"


def test_python_error_rejects_python():
    driver = Driver()
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1")
    driver.python_error(30, 1, "t1", "ValueError", "bad value")

    assert driver.settled("t1") == [["reject", "t1", "python", "ValueError: bad value", 1]]
    assert driver.failures() == []
    assert driver.supervision.state() == "ready"


def test_stop_settles_running_and_queued():
    driver = Driver()
    driver.start(0)
    driver.ready(10, 1)
    for task in ["t1", "t2", "t3"]:
        driver.submit(20, task)
    driver.stop(30)

    assert driver.settled("t1") == [["reject", "t1", "stopped", "the supervisor was stopped", 1]]
    assert driver.settled("t2") == [["reject", "t2", "stopped", "the supervisor was stopped", 0]]
    assert driver.settled("t3") == [["reject", "t3", "stopped", "the supervisor was stopped", 0]]
    assert driver.supervision.state() == "stopped"
    assert ["terminate", 0, 1] in [entry[1] for entry in driver.actions("terminate")]
    assert driver.wakeup is None

    assert driver.result(40, 1, "t1") == []
    assert driver.settled("t1")[0][0] == "reject"
    assert len(driver.settled("t1")) == 1
    assert driver.submit(50, "t4")[0][:3] == ["reject", "t4", "stopped"]
    assert driver.restart(60) == []
    assert driver.supervision.state() == "stopped"


def test_restart_rejects_running_keeps_queue():
    driver = Driver()
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1")
    driver.submit(20, "t2")
    driver.restart(30)

    assert driver.settled("t1") == [["reject", "t1", "stopped", "the worker was restarted by restart()", 1]]
    assert driver.settled("t2") == []
    actions = driver.ready(40, 2)
    assert ["run", 0, 2, "t2"] in actions
    driver.result(50, 2, "t2")
    assert driver.settled("t2") == [["resolve", "t2"]]


def test_tasks_settle_once_across_verdicts():
    driver = Driver({"retries": 1, "interruptGrace": 1000})
    driver.start(0)
    submitted = []

    def submit(task, timeout=None):
        submitted.append(task)
        driver.submit(driver.now, task, timeout)

    healthy_until(driver, 1, 5000, interruptible=True)
    submit("a")
    submit("b", 3000)
    submit("c")
    driver.run(30000, until=lambda: spawn_time(driver, 2) is not None)
    healthy_until(driver, 2, driver.now + 100, at=driver.now + 50)
    driver.result(driver.now + 10, 2, "a")
    submit("d")
    driver.run(driver.now + 30000, until=lambda: spawn_time(driver, 3) is not None)
    driver.restart(driver.now + 10)
    submit("e")
    driver.ready(driver.now + 10, spawned_gens(driver)[-1])
    submit("f")
    driver.stop(driver.now + 10)

    for task in submitted:
        assert len(driver.settled(task)) == 1, task
    assert driver.settled("a") == [["resolve", "a"]]
    runs_of_b = [entry for entry in driver.actions("run") if entry[1][3] == "b"]
    assert len(runs_of_b) == 2
    assert driver.settled("b")[0][:3] == ["reject", "b", "stopped"]


def test_max_queue_overloaded():
    driver = Driver({"size": 1, "maxQueue": 2, "startConcurrency": 1}, pool=True)
    driver.start(0)
    driver.submit(10, "t1")
    driver.submit(10, "t2")
    rejected = driver.submit(10, "t3")

    assert len(rejected) == 1
    assert rejected[0][:3] == ["reject", "t3", "overloaded"]
    assert "maxQueue 2" in rejected[0][3]
    assert driver.supervision.stats(10)["queueLength"] == 2

    driver.ready(20, 1)
    assert driver.supervision.stats(20)["queueLength"] == 1
    accepted = driver.submit(30, "t4")
    assert accepted == []
    assert driver.supervision.stats(30)["queueLength"] == 2


# -- hot spare --------------------------------------------------------------------------


def test_spare_spawned_after_ready():
    driver = Driver({"hotSpare": True})
    start = driver.start(0)
    assert [action for action in start if action[0] == "spawn"] == [["spawn", 0, 1]]

    actions = driver.ready(100, 1)
    assert ["spawn", 0, 2] in actions
    assert driver.supervision.stats(100)["members"][0]["spareReady"] is False

    driver.ready(200, 2)
    assert driver.supervision.stats(200)["members"][0]["spareReady"] is True
    assert driver.supervision.stats(200)["generation"] == 1


def test_spare_takes_over_on_verdict():
    driver = Driver({"hotSpare": True})
    driver.start(0)
    driver.ready(100, 1)
    driver.ready(200, 2)
    driver.reply_to_pings(1)
    driver.run(10000)
    driver.hang(1)
    mark = len(driver.log)
    driver.run(60000, until=lambda: len(driver.failures()) > 0)

    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["recovered"] == "spare"
    assert failures[0]["stateLost"] is True
    assert failures[0]["generation"] == 1
    assert driver.states(since=mark) == ["unresponsive", "recovering", "ready"]
    verdict_time = driver.now
    same_tick = [entry[1] for entry in driver.log[mark:] if entry[0] == verdict_time]
    assert ["terminate", 0, 1] in same_tick
    assert ["state", 0, "ready", 2] in same_tick
    assert ["spawn", 0, 3] in same_tick
    assert any(action[0] == "ping" and action[2] == 2 for action in same_tick)
    assert driver.supervision.state() == "ready"
    assert driver.supervision.stats(driver.now)["generation"] == 2


def test_spare_takeover_runs_retried_task():
    driver = Driver({"hotSpare": True, "retries": 1})
    driver.start(0)
    driver.ready(100, 1)
    driver.ready(200, 2)
    driver.submit(300, "t1")
    actions = driver.worker_failed(400, 1, "fatal")

    assert ["run", 0, 2, "t1"] in actions
    assert driver.settled("t1") == []


def test_spare_not_loaded_takes_over_starting():
    driver = Driver({"hotSpare": True})
    driver.start(0)
    driver.ready(100, 1)
    driver.worker_failed(200, 1, "fatal")

    assert driver.supervision.state() == "starting"
    assert driver.failures()[0]["recovered"] == "spare"
    assert spawned_gens(driver) == [1, 2]
    driver.ready(300, 2)
    assert driver.supervision.state() == "ready"
    assert spawned_gens(driver) == [1, 2, 3]


def test_spare_load_failure_retried_later():
    driver = Driver({"hotSpare": True, "backoffInitial": 1000})
    driver.start(0)
    driver.ready(100, 1)
    actions = driver.error_event(200, 2)

    assert ["terminate", 0, 2] in actions
    assert driver.failures() == []
    assert driver.supervision.state() == "ready"
    driver.reply_to_pings(1)
    driver.run(1199)
    assert spawned_gens(driver) == [1, 2]
    driver.run(1200)
    assert spawned_gens(driver) == [1, 2, 3]


def test_spare_retry_wakeup_after_tick():
    # The spare's startup deadline and the active's pong deadline both fall at 3000. The
    # spare is dropped, the active restarts, and with backoffInitial 0 the spare may
    # be retried at once, but the new active is not loaded yet, so no spare starts.
    driver = Driver({"hotSpare": True, "backoffInitial": 0, "pingInterval": 500,
                     "pongTimeout": 2000, "startupTimeout": 2000})
    driver.start(0)
    driver.ready(1000, 1)
    assert spawned_gens(driver) == [1, 2]
    driver.run(2999)
    actions = driver.tick(3000)

    assert ["terminate", 0, 2] in actions
    assert ["spawn", 0, 3] in actions
    assert driver.supervision.state() == "starting"
    assert driver.wakeup > 3000


# -- pool -------------------------------------------------------------------------------


def pool_driver(extra=None):
    values = {"size": 3, "startConcurrency": 3}
    values.update(extra or {})
    return Driver(values, pool=True)


def loading_count(driver):
    """Count the spawned generations that have neither reported ready nor been terminated."""
    loading = set()
    for entry in driver.log:
        action = entry[1]
        if action[0] == "spawn":
            loading.add(action[2])
        if action[0] == "terminate" and action[2] in loading:
            loading.discard(action[2])
    for member in driver.supervision.members:
        for incarnation in [member.active, member.spare]:
            if incarnation is not None and incarnation.loaded:
                loading.discard(incarnation.gen)
    return len(loading)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pool_start_concurrency(limit):
    driver = pool_driver({"startConcurrency": limit})
    driver.start(0)
    assert len(driver.actions("spawn")) == limit
    assert loading_count(driver) == limit

    highest = loading_count(driver)
    for step in range(30):
        waiting = [member for member in driver.supervision.members
                   if member.active is not None and not member.active.loaded]
        if len(waiting) == 0:
            break
        gen = waiting[0].active.gen
        if step % 3 == 1:
            driver.worker_failed(100 * (step + 1), gen, "fatal")
        else:
            driver.ready(100 * (step + 1), gen)
        highest = max(highest, loading_count(driver))

    assert highest <= limit
    assert driver.supervision.stats(driver.now)["ready"] == 3


def test_pool_dispatches_to_ready_members():
    driver = pool_driver()
    driver.start(0)
    driver.ready(10, 1)
    first = driver.submit(20, "t1")
    second = driver.submit(20, "t2")

    assert ["run", 0, 1, "t1"] in first
    assert second == []
    assert driver.supervision.stats(20)["queueLength"] == 1
    actions = driver.ready(30, 2)
    assert ["run", 1, 2, "t2"] in actions


def test_pool_missed_round_gets_no_task():
    driver = pool_driver()
    driver.start(0)
    for gen in [1, 2, 3]:
        driver.reply_to_pings(gen)
        driver.ready(0, gen)
    driver.run(10000)
    driver.hang(1)
    driver.run(11999)
    assert driver.supervision.stats(11999)["members"][0]["dispatchable"] is True

    driver.run(12000)
    stats = driver.supervision.stats(12000)
    assert stats["members"][0]["dispatchable"] is False
    assert stats["members"][1]["dispatchable"] is True
    runs = []
    for task in ["t1", "t2", "t3"]:
        runs.extend(action for action in driver.submit(12000, task) if action[0] == "run")

    assert [action[1] for action in runs] == [1, 2]
    assert driver.supervision.stats(12000)["queueLength"] == 1


def test_pool_failed_member_leaves_pool_smaller():
    driver = pool_driver({"autoRestart": False})
    driver.start(0)
    for gen in [1, 2, 3]:
        driver.ready(10, gen)
    driver.worker_failed(20, 2, "fatal")

    stats = driver.supervision.stats(20)
    assert stats["size"] == 3
    assert stats["alive"] == 2
    assert stats["ready"] == 2
    assert stats["members"][1]["state"] == "failed"
    assert driver.supervision.state() == "ready"

    runs = []
    for task in ["t1", "t2", "t3"]:
        runs.extend(action for action in driver.submit(30, task) if action[0] == "run")
    assert sorted(action[1] for action in runs) == [0, 2]
    assert driver.settled("t3") == []


def test_pool_all_failed_rejects_queue():
    driver = pool_driver({"autoRestart": False})
    driver.start(0)
    for gen in [1, 2, 3]:
        driver.ready(10, gen)
    for task in ["t1", "t2", "t3", "t4"]:
        driver.submit(20, task)
    for gen in [1, 2, 3]:
        driver.worker_failed(30, gen, "fatal")

    assert driver.supervision.state() == "failed"
    assert driver.settled("t4")[0][:3] == ["reject", "t4", "failed"]
    for task in ["t1", "t2", "t3"]:
        assert driver.settled(task)[0][:3] == ["reject", task, "fatal"]


# -- phi accrual detector ---------------------------------------------------------------


def regular_detector(count, interval=2000, threshold=8):
    detector = PhiAccrual(threshold, 100, 200, 0)
    for index in range(count):
        detector.heartbeat(index * interval)
    return detector


def test_phi_low_with_regular_intervals():
    detector = regular_detector(1)
    for index in range(1, 50):
        arrival = index * 2000
        assert detector.phi(arrival - 1) < 0.5
        assert detector.suspects(arrival - 1) is False
        detector.heartbeat(arrival)


def test_phi_rises_with_silence():
    detector = regular_detector(20)
    last = 19 * 2000
    values = [detector.phi(last + silence) for silence in range(0, 8000, 250)]

    assert values == sorted(values)
    assert detector.suspects(last + 2500) is False
    assert detector.suspects(last + PING + PONG) is True


def test_phi_deadline_matches_threshold():
    detector = regular_detector(20)
    deadline = detector.deadline()

    assert detector.phi(deadline) > 8
    assert detector.phi(deadline - 20) <= 8


def test_phi_needs_three_intervals():
    detector = regular_detector(3)
    assert detector.ready() is False
    assert detector.suspects(10 ** 6) is False
    assert detector.deadline() is None

    detector.heartbeat(6000)
    assert detector.ready() is True


def test_phi_restart_records_no_interval():
    # Phi is computed over the intervals between pongs. The time from restart() to the
    # next pong is not one of them, so it must not enter the statistics.
    detector = regular_detector(5)
    before = list(detector.intervals)
    detector.restart(9000)
    detector.heartbeat(9010)

    assert detector.intervals == before
    assert detector.last_arrival == 9010


def test_phi_jittery_healthy_not_suspected():
    rng = random.Random(7321)
    detector = PhiAccrual(8, 100, 200, 0)
    arrival = 0
    detector.heartbeat(arrival)
    highest = 0
    for _ in range(600):
        interval = max(1, round(rng.gauss(2000, 300)))
        highest = max(highest, detector.phi(arrival + interval - 1))
        assert detector.suspects(arrival + interval - 1) is False
        arrival += interval
        detector.heartbeat(arrival)

    assert highest < 8


def silent_after_regular_pongs(detector):
    driver = Driver({"detector": detector})
    driver.start(0)
    healthy_until(driver, 1, 40000)
    last_pong = driver.last_pong(1)
    driver.run(100000, until=lambda: len(driver.failures()) > 0)
    return [driver.failures(), last_pong]


def test_phi_verdict_sooner_than_fixed():
    phi_failures, phi_last = silent_after_regular_pongs("phi")
    fixed_failures, fixed_last = silent_after_regular_pongs("fixed")

    assert phi_last == fixed_last
    assert len(phi_failures) == 1
    assert phi_failures[0]["kind"] == "hang"
    assert "phi above 8" in phi_failures[0]["message"]
    assert phi_failures[0]["verdictAt"] < fixed_failures[0]["verdictAt"]
    assert phi_failures[0]["verdictAt"] - phi_last < PING + PONG


def test_phi_jittery_worker_not_suspected():
    rng = random.Random(1187)
    driver = Driver({"detector": "phi"})
    driver.start(0)
    driver.reply_to_pings(1, lambda: min(1500, max(1, round(rng.gauss(400, 212)))))
    driver.ready(0, 1)
    driver.run(600000)

    assert driver.failures() == []
    assert driver.supervision.stats(600000)["pongsReceived"] >= 290


def test_phi_irregular_intervals_no_busy_loop():
    # Pongs alternately 10 ms and 1000 ms after their pings give a wide spread, so the
    # phi deadline falls after the fixed pong deadline of a worker that then falls silent.
    driver = Driver({"detector": "phi"})
    driver.start(0)
    driver.ready(0, 1)
    driver.pong(10, 1)
    for index in range(1, 6):
        driver.run(2000 * index)
        driver.pong(2000 * index + [10, 1000][index % 2], 1)
    driver.run(60000, until=lambda: len(driver.failures()) > 0)

    failures = driver.failures()
    assert len(failures) == 1
    assert failures[0]["kind"] == "hang"


def failures_after_long_task(detector):
    """Run a 5.9 s task without a timeout on a healthy worker and return the failures.

    The worker sends no pong while the task runs, and the pong it owes arrives 5 ms
    after the result. No ping has then been outstanding for pongTimeout.
    """
    driver = Driver({"detector": detector})
    driver.start(0)
    healthy_until(driver, 1, 8100)
    driver.submit(8100, "t1")
    driver.run(13999)
    driver.result(14000, 1, "t1")
    driver.run(14004)
    owed = driver.latest_ping(1)
    if owed is not None:
        driver.deliver_pong(14005, 1, owed[0], owed[1])
    driver.reply_to_pings(1)
    driver.run(30000)
    return driver.failures()


def test_phi_spares_worker_after_long_task():
    assert failures_after_long_task("fixed") == []
    assert failures_after_long_task("phi") == []


def test_phi_threshold_out_of_reach():
    # phi_of() never exceeds 300 because it clamps the probability at 1e-300.
    try:
        driver = Driver({"detector": "phi", "phiThreshold": 300})
    except OptionError as error:
        assert error.is_range is True
        return
    driver.start(0)
    healthy_until(driver, 1, 20000)
    driver.run(200000, until=lambda: len(driver.failures()) > 0)

    assert len(driver.failures()) == 1


# -- options ----------------------------------------------------------------------------


def create(values, pool=False):
    return core.create(list(values), values.get, pool, lambda: 1, 0)


@pytest.mark.parametrize("name, value, is_range, shown", [
    ("pingInterval", "2000", False, '"2000"'),
    ("pingInterval", 0, True, "0"),
    ("pongTimeout", 1500, True, "1500"),
    ("pongTimeout", True, False, "true"),
    ("startupTimeout", -5, True, "-5"),
    ("autoRestart", "yes", False, '"yes"'),
    ("backoffInitial", -1, True, "-1"),
    ("backoffFactor", 0.5, True, "0.5"),
    ("backoffMax", 10, True, "10"),
    ("maxRestarts", 2.5, False, "2.5"),
    ("maxRestarts", -1, True, "-1"),
    ("restartWindow", 0, True, "0"),
    ("interrupt", "sometimes", False, '"sometimes"'),
    ("interruptGrace", [2000], False, "a value of another type"),
    ("hotSpare", 1, False, "1"),
    ("retries", -2, True, "-2"),
    ("setupCode", 42, False, "42"),
    ("lateTolerance", 3000, True, "3000"),
    ("detector", "median", False, '"median"'),
    ("phiThreshold", 0, True, "0"),
    ("maxOutput", 1.5, False, "1.5"),
    ("progress", "on", False, '"on"'),
    ("stuckTimeout", 0, True, "0"),
])
def test_option_error_names_option_and_value(name, value, is_range, shown):
    with pytest.raises(OptionError) as caught:
        create({name: value})

    assert name in caught.value.message
    assert caught.value.message.endswith("got " + shown)
    assert caught.value.is_range is is_range


@pytest.mark.parametrize("name, value, is_range", [
    ("size", 0, True),
    ("size", 1.5, False),
    ("maxQueue", -1, True),
    ("startConcurrency", 0, True),
    ("startConcurrency", "2", False),
])
def test_pool_option_errors(name, value, is_range):
    with pytest.raises(OptionError) as caught:
        create({name: value}, pool=True)

    assert name in caught.value.message
    assert caught.value.is_range is is_range


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_option_not_finite(value):
    with pytest.raises(OptionError) as caught:
        create({"pingInterval": value})

    assert "pingInterval must be a finite number" in caught.value.message
    assert caught.value.is_range is False


def test_option_unknown_name():
    with pytest.raises(OptionError) as caught:
        create({"pingIntervall": 2000})

    assert "unknown option pingIntervall" in caught.value.message
    assert "pingInterval" in caught.value.message
    assert caught.value.is_range is False


def test_option_pool_only_on_supervisor():
    with pytest.raises(OptionError) as caught:
        create({"size": 3})

    assert "size" in caught.value.message
    assert "Pool" in caught.value.message
    assert caught.value.is_range is False


def test_option_defaults_accepted():
    supervision = create({})

    assert supervision.settings.get("pingInterval") == PING
    assert supervision.settings.get("pongTimeout") == PONG
    assert supervision.settings.get("size") == 1


def test_option_pong_not_above_ping():
    with pytest.raises(OptionError) as caught:
        create({"pingInterval": 3000, "pongTimeout": 3000})

    assert "pongTimeout" in caught.value.message
    assert "pingInterval (3000)" in caught.value.message
    assert caught.value.is_range is True


def test_task_timeout_validation():
    assert options.check_task_timeout(None) is None
    assert options.check_task_timeout(250) == 250

    with pytest.raises(OptionError) as wrong_type:
        options.check_task_timeout("10")
    assert wrong_type.value.is_range is False
    assert 'got "10"' in wrong_type.value.message

    with pytest.raises(OptionError) as out_of_range:
        options.check_task_timeout(0)
    assert out_of_range.value.is_range is True
    assert "timeout" in out_of_range.value.message


# -- state machine and statistics -------------------------------------------------------


def test_illegal_transition_names_state_and_event():
    driver = Driver()
    driver.start(0)

    with pytest.raises(core.IllegalTransition) as caught:
        driver.member().goto(core.BUSY, "run")

    assert "starting" in str(caught.value)
    assert "busy" in str(caught.value)
    assert "run" in str(caught.value)
    assert driver.member().state == core.STARTING


def test_stats_counts_heartbeat():
    driver = Driver()
    driver.start(0)
    driver.reply_to_pings(1, 25)
    driver.ready(0, 1)
    driver.run(10000)
    driver.submit(10000, "t1")
    stats = driver.supervision.stats(10400)

    assert stats["pingsSent"] == 6
    assert stats["pongsReceived"] == 5
    assert stats["lastRttMs"] == 25
    assert stats["busyForMs"] == 400
    assert stats["state"] == "busy"
    assert stats["generation"] == 1
    assert stats["ignoredMessages"] == 0


def test_busy_loop_guard_detects_stuck_clock():
    driver = Driver()
    driver.start(0)
    driver.ready(0, 1)
    driver.supervision.next_wakeup = lambda now: now

    with pytest.raises(BusyLoop):
        driver.run(10000)


def test_message_stream_keeps_armed_timer():
    # Ignored messages arriving without pause must not move the armed timer on.
    driver = Driver({})
    driver.start(0)
    driver.ready(10, 1)
    armed = driver.wakeup
    for step in range(50):
        driver.supervision.on_pong(armed + step, 1, 999, 999)
        assert driver.supervision.next_wakeup(armed + step) == armed
    assert driver.supervision.stats(armed + 50)["ignoredMessages"] == 50


def test_flood_after_due_is_not_a_stall():
    # Messages handled right after the timer was due show the page was running, so a late
    # tick still judges: a flooding, blocked worker cannot hide behind the lateness.
    driver = Driver({"pingInterval": 500, "pongTimeout": 1500, "lateTolerance": 500})
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1")
    deadline = driver.member().pings[0][3]
    while driver.wakeup < deadline:
        driver.tick()
    due = driver.wakeup
    for step in range(20):
        driver.supervision.saw_message(due + 10 + step * 100, 1)
    driver.tick(due + 2000)

    assert [f["kind"] for f in driver.failures()] == ["hang"]


def test_backlog_after_stall_is_a_stall():
    # After a real stall the first message is handled long after the timer was due, with
    # the backlog, so the round is discarded and the task's result gets its chance.
    driver = Driver({"pingInterval": 500, "pongTimeout": 1500, "lateTolerance": 500})
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1", 1000)
    while driver.wakeup < 1020:
        driver.tick()
    due = driver.wakeup
    driver.supervision.saw_message(due + 3000, 1)
    driver.tick(due + 3001)
    driver.result(due + 3002, 1, "t1")

    assert driver.failures() == []
    assert driver.settled("t1")[0][0] == "resolve"


def test_frozen_time_moves_task_deadline():
    driver = Driver({"pingInterval": 500, "pongTimeout": 1500, "lateTolerance": 500})
    driver.start(0)
    driver.ready(10, 1)
    driver.submit(20, "t1", 3000)
    driver.apply(30, "frozen")
    driver.apply(4030, "resumed")
    assert driver.member().task.deadline == 3020 + 4000
    driver.tick(4031)
    driver.tick(4100)

    assert driver.failures() == []
    driver.result(5000, 1, "t1")
    assert driver.settled("t1")[0][0] == "resolve"
