"""Faults after startup: signals beat timeouts, each fault gets its one kind on this platform.

Pyodide 314.0.7 in Chromium 156. Each test first makes sure its fault really happened.
"""

from tests.support import browser as b

FAST = {"pingInterval": 500, "pongTimeout": 1500, "lateTolerance": 500}
# Signalled faults get a long pongTimeout, so a verdict that came in time was not the timeout's.
SLOW_HEARTBEAT = {"pingInterval": 2000, "pongTimeout": 10000, "interrupt": False}
SIGNAL_BOUND_MS = 1000

RAISE_IN_CALLBACK = """
from js import setTimeout
from pyodide.ffi import create_once_callable

def fail_later():
    raise RuntimeError("callback failed")

setTimeout(create_once_callable(fail_later), 0)
"""

# The callback queues the block before it raises, so the worker goes mute right after
# the error event, before the probe ping can reach it.
RAISE_THEN_BLOCK = """
from js import setTimeout, queueMicrotask, Atomics, Int32Array, SharedArrayBuffer
from pyodide.ffi import create_once_callable

def block():
    Atomics.wait(Int32Array.new(SharedArrayBuffer.new(4)), 0, 0)

def fail_then_block():
    queueMicrotask(create_once_callable(block))
    raise RuntimeError("callback failed")

setTimeout(create_once_callable(fail_then_block), 0)
"""


def test_os_exit_is_fatal_at_once(page, server):
    b.open_harness(page, server.origin)
    b.make(page, SLOW_HEARTBEAT)
    b.wait_ready(page)
    task = b.submit(page, "import os\nos._exit(3)")
    failure = b.wait_failures(page, 1, timeout=15000)[0]["detail"]
    settled = b.outcome(page, task)

    assert failure["kind"] == "fatal"
    assert "exit" in failure["message"].lower()
    assert failure["verdictAt"] - settled["submittedAt"] < SIGNAL_BOUND_MS
    assert settled["kind"] == "fatal"
    assert failure["recovered"] == "restart"
    b.wait_ready(page)
    assert b.run(page, "1 + 2")["value"] == 3


def test_segfault_is_fatal_at_once(page, server):
    b.open_harness(page, server.origin)
    b.make(page, SLOW_HEARTBEAT)
    b.wait_ready(page)
    task = b.submit(page, "import faulthandler\nfaulthandler._sigsegv()")
    failure = b.wait_failures(page, 1, timeout=15000)[0]["detail"]
    settled = b.outcome(page, task)

    assert failure["kind"] == "fatal"
    assert "fatal error" in failure["message"]
    assert failure["verdictAt"] - settled["submittedAt"] < SIGNAL_BOUND_MS
    assert settled["kind"] == "fatal"


def test_fatal_worker_stops_answering_pings(page, server):
    # The worker's own contract, without a supervisor: after a fatal error no pong comes.
    b.open_harness(page, server.origin)
    replies = page.evaluate("""async () => {
        const worker = new Worker('/web/worker.mjs', {type: 'module'});
        const seen = [];
        worker.onmessage = (event) => seen.push(event.data);
        worker.postMessage({type: 'init', gen: 7, indexURL: '/web/pyodide/',
            protocolUrl: '/build/protocol.py', responderUrl: '/build/responder.py', maxOutput: 1000});
        const until = async (test, ms) => {
            const end = performance.now() + ms;
            while (!test() && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
        };
        await until(() => seen.some((m) => m.type === 'ready'), 60000);
        worker.postMessage({type: 'ping', seq: 1, nonce: 11, gen: 7});
        await until(() => seen.some((m) => m.type === 'pong'), 5000);
        worker.postMessage({type: 'run', task: 1, code: 'import os\\nos._exit(3)', gen: 7});
        await until(() => seen.some((m) => m.type === 'failed'), 5000);
        worker.postMessage({type: 'ping', seq: 2, nonce: 22, gen: 7});
        worker.postMessage({type: 'run', task: 2, code: '1 + 1', gen: 7});
        await new Promise((r) => setTimeout(r, 1500));
        worker.terminate();
        return seen.map((m) => m.type);
    }""")
    assert replies.count("ready") == 1
    assert replies.count("pong") == 1, "no pong before the fault, or a pong after it"
    assert "failed" in replies
    assert replies.index("failed") > replies.index("pong")
    assert "result" not in replies


def test_error_event_with_live_worker_is_no_verdict(page, server):
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)
    assert b.run(page, RAISE_IN_CALLBACK)["status"] == "resolved"
    page.wait_for_function("() => sup.stats().errorEvents === 1", timeout=5000)
    pongs = b.stats(page)["pongsReceived"]
    page.wait_for_function("(n) => sup.stats().pongsReceived >= n + 3", arg=pongs, timeout=10000)

    assert b.failures(page) == []
    assert b.run(page, "'still here'")["value"] == "still here"


def test_error_event_then_silence_is_crash(page, server):
    b.open_harness(page, server.origin)
    b.make(page, SLOW_HEARTBEAT)
    b.wait_ready(page)
    assert b.run(page, RAISE_THEN_BLOCK)["status"] == "resolved"
    page.wait_for_function("() => sup.stats().errorEvents === 1", timeout=5000)
    error_seen = b.now(page)
    failure = b.wait_failures(page, 1, timeout=15000)[0]

    assert failure["detail"]["kind"] == "crash"
    assert failure["at"] - error_seen < SIGNAL_BOUND_MS + 1000
    b.wait_ready(page)
    assert b.run(page, "5 - 1")["value"] == 4


def test_str_recursion_case_c3(page, server):
    # Case C3: __str__ that formats itself overflows the JavaScript stack before Python's
    # recursion limit, and Pyodide 314 treats that as fatal.
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)
    code = "class Loop:\n    def __str__(self):\n        return f'{self}'\n\nprint(Loop())"
    task = b.submit(page, code)
    failure = b.wait_failures(page, 1, timeout=60000)[0]["detail"]
    settled = b.outcome(page, task)

    assert failure["kind"] == "fatal", failure
    assert "Maximum call stack size exceeded" in failure["message"]
    assert failure["recovered"] == "restart"
    assert settled["kind"] == "fatal"
    assert settled["code"] == code
    b.wait_ready(page)
    assert b.run(page, "'fine'")["value"] == "fine"


def test_memory_exhaustion_case_c4(page, server):
    # Case C4: really allocate until the 4 GB wasm32 limit. Growing memory that far takes
    # about 9 s here, so the heartbeat is slowed to let Python raise MemoryError first.
    b.open_harness(page, server.origin)
    b.make(page, {"pingInterval": 2000, "pongTimeout": 45000, "interrupt": False})
    b.wait_ready(page)
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))"
    task = b.submit(page, code)
    failure = b.wait_failures(page, 1, timeout=60000)[0]["detail"]
    settled = b.outcome(page, task)

    assert failure["kind"] == "oom", failure
    assert "MemoryError" in failure["message"]
    assert settled["kind"] == "oom"
    assert failure["recovered"] == "restart"
    b.wait_ready(page)
    assert b.run(page, "len(bytearray(10**6))")["value"] == 10**6


def test_restart_terminates_busy_worker_case_c9(page, server):
    b.open_harness(page, server.origin)
    b.make(page, FAST)
    b.wait_ready(page)
    # time.sleep() lets the worker answer pings in Pyodide 314, so this worker stays
    # healthy while it loops; only restart() ends it.
    task = b.submit(page, b.busy_beacon("sleeper", "time.sleep(0.1)"))
    page.wait_for_function("() => sup.state === 'busy' && harness.lastHeard.sleeper > 0", timeout=5000)
    restarted_at = b.now(page)
    page.evaluate("sup.restart()")
    settled = b.outcome(page, task)
    b.wait_ready(page)

    assert settled["kind"] == "stopped"
    assert settled["generation"] == 1
    assert b.stats(page)["generation"] == 2
    b.assert_falls_silent(page, "sleeper", restarted_at)
    assert b.run(page, "'new'")["generation"] == 2
