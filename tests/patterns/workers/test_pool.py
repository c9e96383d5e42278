"""A pool of supervised workers: every member has its own heartbeat, nothing is lost."""

from tests.support import browser as b

FAST = {"pingInterval": 500, "pongTimeout": 1500, "lateTolerance": 500}


def make_pool(page, server, prefix="/plain", **options):
    b.open_harness(page, server.origin, prefix)
    b.make(page, {**FAST, "size": 3, **options}, kind="pool")


def wait_all_ready(page, size=3, timeout=b.LOAD_TIMEOUT_MS * 2):
    page.wait_for_function("(n) => sup.stats().members.filter((m) => m.state === 'ready').length === n",
                           arg=size, timeout=timeout)


def test_pool_survives_a_hang_and_a_crash(page, server):
    make_pool(page, server)
    wait_all_ready(page)
    page.evaluate("""() => {
        window.samples = [];
        window.sampler = setInterval(() => window.samples.push({at: performance.now(), stats: sup.stats()}), 50);
    }""")
    codes = []
    for i in range(12):
        if i == 2:
            codes.append(b.busy_beacon("pool-hang", "pass"))
        elif i == 5:
            codes.append("import os\nos._exit(1)")
        else:
            codes.append("import time\nstart = time.time()\nwhile time.time() - start < 0.4:\n    pass\n{} * 3".format(i))
    ids = [b.submit(page, code) for code in codes]
    outcomes = [b.outcome(page, task_id, timeout=b.LOAD_TIMEOUT_MS) for task_id in ids]
    wait_all_ready(page)
    page.evaluate("clearInterval(window.sampler)")
    failures = b.failures(page)
    samples = page.evaluate("window.samples")

    kinds = sorted(f["detail"]["kind"] for f in failures)
    assert kinds == ["fatal", "hang"]
    for failure in failures:
        assert failure["detail"]["member"] in (0, 1, 2)
        assert failure["detail"]["recovered"] == "restart"
    for i, settled in enumerate(outcomes):
        assert settled["status"] != "pending"
        if i == 2:
            assert settled["kind"] == "hang"
            assert settled["code"] == codes[2]
        elif i == 5:
            assert settled["kind"] == "fatal"
            assert settled["code"] == codes[5]
        else:
            assert settled["status"] == "resolved", settled
            assert settled["value"] == i * 3

    # The healthy members kept serving while the hung one was silent.
    hang = next(f for f in failures if f["detail"]["kind"] == "hang")
    hang_started = outcomes[2]["submittedAt"]
    served_meanwhile = [o for i, o in enumerate(outcomes) if i not in (2, 5) and hang_started < o["at"] < hang["detail"]["verdictAt"]]
    assert len(served_meanwhile) >= 2

    # No sample shows the hung worker's generation as ready once its round was missed.
    hung_gen = hang["detail"]["generation"]
    for sample in samples:
        for member in sample["stats"]["members"]:
            if member["generation"] == hung_gen and sample["at"] > hang_started + FAST["pingInterval"] * 2:
                assert member["state"] != "ready", sample
    stats = b.stats(page)
    assert stats["size"] == 3
    assert stats["alive"] == 3
    assert stats["ready"] == 3


def test_events_carry_member_and_generation(page, server):
    make_pool(page, server, size=2)
    wait_all_ready(page, 2)
    changes = page.evaluate("harness.events.filter((e) => e.type === 'statechange').map((e) => e.detail)")
    members = {change["member"] for change in changes}
    generations = {change["generation"] for change in changes if change["state"] == "ready"}

    assert members == {0, 1}
    assert generations == {1, 2}


def test_missed_round_gets_no_new_task(page, server):
    # A member blocked below Python answers no ping; a task queued meanwhile goes elsewhere.
    make_pool(page, server, prefix="", size=2, pongTimeout=4000)
    wait_all_ready(page, 2)
    blocked = b.submit(page, "from js import Atomics, Int32Array, SharedArrayBuffer\nAtomics.wait(Int32Array.new(SharedArrayBuffer.new(4)), 0, 0, 2500)\n'woke'")
    page.wait_for_function("() => sup.stats().members.some((m) => m.state === 'busy')", timeout=5000)
    page.wait_for_timeout(FAST["pingInterval"] * 2 + 200)
    quick = [b.outcome(page, b.submit(page, "'quick'")) for _ in range(3)]
    slow = b.outcome(page, blocked, timeout=15000)

    assert slow["value"] == "woke"
    assert {q["generation"] for q in quick} == {1, 2} - {slow["generation"]}
    assert b.failures(page) == []


def test_retry_moves_lost_task_to_another_member(page, context, server):
    attempts = []

    def answer(route):
        attempts.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="crash" if len(attempts) == 1 else "ok")

    context.route("**/attempt", answer)
    make_pool(page, server, prefix="", size=2, retries=1)
    wait_all_ready(page, 2)
    code = "from js import fetch\nreply = await (await fetch('/attempt')).text()\nif reply == 'crash':\n    import os\n    os._exit(1)\nreply"
    settled = b.run(page, code, timeout=b.LOAD_TIMEOUT_MS)
    failure = b.failures(page)[0]["detail"]

    assert len(attempts) == 2
    assert failure["kind"] == "fatal"
    assert settled["value"] == "ok"
    assert settled["generation"] != failure["generation"]


def test_max_queue_rejects_at_once(page, server):
    make_pool(page, server, size=1, maxQueue=2)
    ids = [b.submit(page, "{} + 1".format(i)) for i in range(5)]
    early = page.evaluate("(ids) => ids.map((id) => harness.outcomes[id].status)", ids)
    outcomes = [b.outcome(page, task_id, timeout=b.LOAD_TIMEOUT_MS) for task_id in ids]

    assert early[2:] == ["rejected"] * 3
    assert [o["value"] for o in outcomes[:2]] == [1, 2]
    for rejected in outcomes[2:]:
        assert rejected["kind"] == "overloaded"
        assert "maxQueue 2" in rejected["message"]


def test_pool_with_no_members_left_rejects(page, server):
    make_pool(page, server, size=2, workerUrl="/no-such-worker.mjs", maxRestarts=0)
    page.wait_for_function("() => sup.state === 'failed'", timeout=20000)
    stats = b.stats(page)
    task = b.run(page, "1")

    assert stats["alive"] == 0
    assert [m["state"] for m in stats["members"]] == ["failed", "failed"]
    assert task["kind"] == "failed"
    assert "no worker left" in task["message"]
    assert "HTTP 404" in task["message"]


def test_pool_options_are_checked(page, server):
    b.open_harness(page, server.origin)
    size_error = page.evaluate("() => { try { new harness.Pool({size: 0}); } catch (e) { return e.name + ': ' + e.message; } }")
    pool_only = page.evaluate("() => { try { new harness.Supervisor({size: 2}); } catch (e) { return e.name + ': ' + e.message; } }")
    assert size_error == "RangeError: option size must be at least 1, got 0"
    assert pool_only == "TypeError: option size applies to Pool only"
