"""`make bench`: measure every figure beside its baseline, in one run, in headless Chromium.

Starts the repository's server on 127.0.0.1 and one Chromium, runs the sections in order,
prints a line per round, writes bench/results.json and renders docs/benchmarks.md with
docs/detection.svg. A section that fails is recorded under "errors", and the run exits 1
after writing what it measured. A missed target is a result, not a failure.
"""

import datetime
import json
import os
import pathlib
import platform
import signal
import sys
import time

from playwright.sync_api import sync_playwright

from bench import costs, faults, report, size
from bench.summary import rounded
from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH
from tests.support.server import Server

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
PARTIAL = ROOT / "bench" / "results.json.tmp"

# (section, key in results.json, function). Sections sharing a key merge their figures.
SECTIONS = [
    ("size", "size", size.sizes),
    ("detection", "detection", faults.detection),
    ("signals", "detection", faults.signals),
    ("recovery", "recovery", faults.recovery),
    ("stall", "false_verdicts", faults.stall),
    ("beacon stuck", "beacon", faults.stuck),
    ("beacon overhead", "beacon", costs.beacon),
    ("pool", "pool", costs.pool),
    ("overhead", "overhead", costs.overhead),
]

# The whole of `make bench` should take under 15 minutes, and set-up with the build takes
# a few seconds once everything is installed. A section does not start after SOFT_BUDGET_S,
# and the alarm ends a section that is still running at HARD_BUDGET_S.
SOFT_BUDGET_S = 13 * 60
HARD_BUDGET_S = 14.5 * 60


class BudgetExceeded(Exception):
    pass


def on_alarm(signum, frame):
    raise BudgetExceeded("the run passed its budget of %d s" % HARD_BUDGET_S)


def cpu_model():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def chromium_processes():
    """Count the Chromium processes running now; other sessions' browsers load the machine."""
    count = 0
    for comm in pathlib.Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "chromium":
                count += 1
        except OSError:
            continue
    return count


def pyodide_version():
    package = json.loads((ROOT / "node_modules" / "pyodide" / "package.json").read_text())
    return package["version"]


def main():
    started = time.monotonic()

    def log(message):
        elapsed = time.monotonic() - started
        print("[%2d:%02d] %s" % (elapsed // 60, elapsed % 60, message), flush=True)

    results = {
        "date": datetime.date.today().isoformat(),
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "cpu_model": cpu_model(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1),
            "python": platform.python_version(),
            "pyodide": pyodide_version(),
            "load_average_at_start": list(os.getloadavg()),
            "other_chromium_processes_at_start": chromium_processes(),
        },
        "errors": {},
    }
    log("load average %.2f, %d Chromium processes of other sessions running" % (
        os.getloadavg()[0], results["machine"]["other_chromium_processes_at_start"]))
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(HARD_BUDGET_S))

    with Server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        results["machine"]["chromium"] = browser.version
        log("Chromium %s, server %s" % (browser.version, server.origin))
        try:
            for section, key, measure in SECTIONS:
                if time.monotonic() - started > SOFT_BUDGET_S:
                    results["errors"][section] = "skipped: the run passed its soft budget of %d s" % SOFT_BUDGET_S
                    log(section + ": skipped, over budget")
                    continue
                log("== " + section + " ==")
                section_started = time.monotonic()
                try:
                    figures = measure(browser, server.origin, log)
                except Exception as error:  # noqa: BLE001 - recorded, and the run exits 1
                    results["errors"][section] = type(error).__name__ + ": " + str(error).split("\n")[0]
                    log(section + " FAILED: " + results["errors"][section])
                    continue
                figures["seconds"] = time.monotonic() - section_started
                merged = results.setdefault(key, {})
                if "seconds" in merged:
                    figures["seconds"] += merged["seconds"]
                merged.update(figures)
                PARTIAL.write_text(json.dumps(rounded(results, 3), indent=1) + "\n")
        finally:
            signal.alarm(0)
            browser.close()

    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["seconds"] = time.monotonic() - started
    results = rounded(results, 3)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    if PARTIAL.exists():
        PARTIAL.unlink()
    report.render(results)
    log("wrote bench/results.json, docs/benchmarks.md and docs/detection.svg in %.0f s" % results["seconds"])
    if len(results["errors"]) > 0:
        for section, error in results["errors"].items():
            print("FAILED " + section + ": " + error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
