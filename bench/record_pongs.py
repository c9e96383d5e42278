"""Record when pongs reach the page, for the phi detector's tests under CPython.

Runs a healthy supervised worker in headless Chromium and writes the intervals between
pong arrivals (page clock, ms) to tests/core/data/pong_intervals.json: one series with
the machine idle and one with two busy workers loading the CPU.

    .venv/bin/python -m bench.record_pongs [seconds per series]
"""

import json
import pathlib
import sys

from playwright.sync_api import sync_playwright

from tests.support import browser as b
from tests.support.server import Server

OUTPUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "core" / "data" / "pong_intervals.json"
PING_MS = 500

# Wraps Worker before the supervisor exists, to time every pong's arrival on the page.
WATCH_PONGS = """() => {
    window.pongArrivals = [];
    const NativeWorker = window.Worker;
    window.Worker = function (url, options) {
        const worker = new NativeWorker(url, options);
        worker.addEventListener('message', (event) => {
            if (event.data && event.data.type === 'pong') window.pongArrivals.push(performance.now());
        });
        return worker;
    };
}"""

LOAD_CPU = """() => {
    const source = 'const end = Date.now() + 600000; while (Date.now() < end) {}';
    const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
    window.loaders = [new Worker(url), new Worker(url)];
}"""


def record(browser, origin, seconds, loaded):
    page = browser.new_page()
    b.open_harness(page, origin)
    page.evaluate(WATCH_PONGS)
    b.make(page, {"pingInterval": PING_MS, "pongTimeout": 1500, "lateTolerance": 500})
    b.wait_ready(page)
    if loaded:
        page.evaluate(LOAD_CPU)
    page.wait_for_timeout(seconds * 1000)
    arrivals = page.evaluate("window.pongArrivals")
    if loaded:
        page.evaluate("window.loaders.forEach((w) => w.terminate())")
    page.close()
    return [round(later - earlier, 3) for earlier, later in zip(arrivals, arrivals[1:])]


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    with Server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=b.CHROMIUM_PATH, args=b.CHROMIUM_ARGS)
        series = {
            "pingInterval": PING_MS,
            "idle": record(browser, server.origin, seconds, False),
            "loaded": record(browser, server.origin, seconds, True),
        }
        browser.close()
    OUTPUT.write_text(json.dumps(series, indent=1) + "\n")
    print("wrote", OUTPUT, {name: len(values) for name, values in series.items() if name != "pingInterval"})


if __name__ == "__main__":
    main()
