"""Property tests of the supervision core over random plausible event traces.

traces.build turns hypothesis-drawn steps into events that an adapter could see, applies
them to a CPython Supervision, ticks at each wakeup for a while, and stops. Every test
runs once per detector. derandomize keeps the examples the same from run to run.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core
from tests.core import traces

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# Hypothesis draws small and boundary numbers more often than others, so half of the
# examples take uniformly drawn steps from a seeded generator instead.
DRAWN_STEPS = st.lists(st.tuples(st.integers(0, traces.CHOICES - 1), st.integers(0, 99999)),
                       max_size=80)
SEEDED_STEPS = st.tuples(st.integers(0, 2 ** 32 - 1), st.integers(0, 120)).map(
    lambda pair: traces.random_steps(random.Random(pair[0]), pair[1]))
STEPS = st.one_of(DRAWN_STEPS, SEEDED_STEPS)
SEEDS = st.integers(0, 2 ** 32 - 1)
DETECTORS = ["fixed", "phi"]


def build(seed, steps, detector):
    options, pool = traces.random_options(random.Random(seed), detector)
    return traces.build(options, pool, steps)[1]


def all_actions(recorder):
    """Yield [entry, action] for every action of the run, in order."""
    for entry in recorder.log:
        for action in entry["actions"]:
            yield [entry, action]


@pytest.mark.parametrize("detector", DETECTORS)
@SETTINGS
@given(seed=SEEDS, steps=STEPS)
def test_no_illegal_transition(detector, seed, steps):
    try:
        build(seed, steps, detector)
    except core.IllegalTransition as error:
        pytest.fail(str(error))


@pytest.mark.parametrize("detector", DETECTORS)
@SETTINGS
@given(seed=SEEDS, steps=STEPS)
def test_one_final_verdict_per_generation(detector, seed, steps):
    recorder = build(seed, steps, detector)
    ended = {}
    for entry, action in all_actions(recorder):
        if action[0] != "failure":
            continue
        details = action[2]
        gen = details["generation"]
        assert gen > 0, details
        assert str(gen) not in ended, [details, ended.get(str(gen))]
        if details["stateLost"]:
            ended[str(gen)] = details


@pytest.mark.parametrize("detector", DETECTORS)
@SETTINGS
@given(seed=SEEDS, steps=STEPS)
def test_no_verdict_before_ready_except_load(detector, seed, steps):
    recorder = build(seed, steps, detector)
    ready = set()
    for entry in recorder.log:
        event = entry["event"]
        for action in entry["actions"]:
            if action[0] == "failure" and action[2]["kind"] != "load":
                assert action[2]["generation"] in ready, [event, action[2]]
        if event[0] == "ready" and not entry["ignored"]:
            ready.add(event[2])


@pytest.mark.parametrize("detector", DETECTORS)
@SETTINGS
@given(seed=SEEDS, steps=STEPS)
def test_every_task_settles_once(detector, seed, steps):
    recorder = build(seed, steps, detector)
    submitted = [entry["event"][2] for entry in recorder.log if entry["event"][0] == "submit"]
    settled = {}
    for entry, action in all_actions(recorder):
        if action[0] == "resolve" or action[0] == "reject":
            settled[action[1]] = settled.get(action[1], 0) + 1

    for task in submitted:
        assert settled.get(task, 0) == 1, task
    assert set(settled) == set(submitted)
    assert len(recorder.supervision.tasks) == 0


@pytest.mark.parametrize("detector", DETECTORS)
@SETTINGS
@given(seed=SEEDS, steps=STEPS)
def test_wakeup_after_tick_is_later(detector, seed, steps):
    recorder = build(seed, steps, detector)
    for entry in recorder.log:
        event = entry["event"]
        if event[0] != "tick" or entry["wakeup"] is None or entry["deferred"]:
            continue
        assert entry["wakeup"] > event[1], [event, entry["wakeup"]]


@pytest.mark.parametrize("detector", DETECTORS)
@SETTINGS
@given(seed=SEEDS, steps=STEPS)
def test_ticking_at_wakeup_advances_time(detector, seed, steps):
    recorder = build(seed, steps, detector)
    drain = [entry for entry in recorder.log[recorder.drain_from:] if entry["event"][0] == "tick"]
    streak = 1
    for index in range(1, len(drain)):
        if drain[index]["event"][1] == drain[index - 1]["event"][1]:
            streak += 1
        else:
            streak = 1
        assert streak <= 2, drain[index]["event"]
    if len(drain) == 200:
        assert drain[len(drain) - 1]["event"][1] > drain[0]["event"][1]
