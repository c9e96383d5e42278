"""The phi detector against pong intervals recorded in headless Chromium.

tests/core/data/pong_intervals.json comes from `python -m bench.record_pongs`: a healthy
worker pinged every 500 ms, once on an idle machine and once with two busy workers
loading both cores, which makes the intervals jitter from about 250 to 1070 ms.
"""

import json
import pathlib

import pytest

import core
from policy import PhiAccrual

DATA = json.loads((pathlib.Path(__file__).parent / "data" / "pong_intervals.json").read_text())
PING_MS = DATA["pingInterval"]
PONG_MS = 1500
THRESHOLD = 8


def supervision():
    options = {"pingInterval": PING_MS, "pongTimeout": PONG_MS, "lateTolerance": 500, "detector": "phi"}
    return core.create(list(options), options.get, False, lambda: 1, 0)


def detector_of(sup):
    return sup.members[0].detector


@pytest.mark.parametrize("series", ["idle", "loaded"])
def test_recorded_series_is_never_suspected(series):
    intervals = DATA[series]
    detector = PhiAccrual(THRESHOLD, 100, PING_MS / 5, PING_MS / 2)
    at = 0
    detector.heartbeat(at)
    worst = 0
    for interval in intervals:
        # phi just before each pong arrives is the highest it got while waiting for it.
        worst = max(worst, detector.phi(at + interval - 0.001))
        at += interval
        detector.heartbeat(at)
    assert len(intervals) >= 100
    assert worst < THRESHOLD / 2, worst


@pytest.mark.parametrize("series", ["idle", "loaded"])
def test_silence_after_series_is_judged_sooner(series):
    detector = PhiAccrual(THRESHOLD, 100, PING_MS / 5, PING_MS / 2)
    at = 0
    detector.heartbeat(at)
    for interval in DATA[series]:
        at += interval
        detector.heartbeat(at)
    verdict_after = detector.deadline() - at
    # The fixed rule's worst case after the last pong: the next ping, then pongTimeout.
    assert verdict_after < PING_MS + PONG_MS
    assert verdict_after > max(DATA[series])


def test_supervision_uses_fitted_detector():
    sup = supervision()
    sup.start(0)
    detector = detector_of(sup)
    assert detector.min_std == PING_MS / 5
    assert detector.acceptable_pause == PING_MS / 2
    assert detector.threshold == THRESHOLD
