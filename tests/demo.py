"""`make demo`: drive the example page in headless Chromium and print its timeline.

It clicks through the page as a person would: wait for ready, run code, hang the worker,
wait for the verdict and the recovery, run code again. It does this three times: a cold
restart (no isolation), a hot-spare takeover, and a soft interrupt (isolated page), and
exits 0 only when every step behaved.
"""

import sys
import time

from playwright.sync_api import sync_playwright

from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH, LOAD_TIMEOUT_MS
from tests.support.server import Server

PAGE = "/web/examples/loading/worker_heartbeat.html?pingInterval=500&pongTimeout=1500&lateTolerance=500"
SCENARIOS = [
    ("cold restart", "/plain" + PAGE, "restart"),
    ("hot spare", "/plain" + PAGE + "&hotSpare=1", "spare"),
    ("soft interrupt", PAGE, "interrupt"),
]


def text_of(page, element_id):
    return page.text_content("#" + element_id) or ""


def wait_state(page, state, timeout=LOAD_TIMEOUT_MS):
    page.wait_for_function("(s) => document.getElementById('state').textContent === s", arg=state, timeout=timeout)


def scenario(browser, origin, name, path, expected):
    """Run one scenario; return (passed, recovery ms from verdict to the next result)."""
    print("\n== " + name + " ==")
    page = browser.new_page()
    page.goto(origin + path)
    wait_state(page, "ready")
    if expected == "spare":
        page.wait_for_function("() => window.pageSupervisor.stats().members[0].spareReady", timeout=LOAD_TIMEOUT_MS)

    page.fill("#code", "x = 41\nx + 1")
    page.click("#run")
    page.wait_for_function("() => document.getElementById('output').textContent.includes('=> 42')", timeout=10000)

    # Queue the next task behind the hang: it runs on whatever worker comes back.
    page.click("#hang")
    page.fill("#code", "'x' in globals()")
    page.click("#run")
    page.wait_for_selector("#banner:not([hidden])", timeout=20000)
    page.wait_for_function("() => document.getElementById('output').textContent.includes('=>')", timeout=LOAD_TIMEOUT_MS)
    kept = "=> true" in text_of(page, "output")

    lines = page.evaluate("""() => [...document.querySelectorAll('#log li')].map(
        (li) => ({text: li.textContent, message: li.dataset.message, at: Number(li.dataset.at)}))""")
    for line in lines:
        print("  " + line["text"])
    verdict = next(line for line in lines if line["message"].startswith("state unresponsive"))
    ran = [line for line in lines if line["message"].startswith("code ran") and line["at"] > verdict["at"]]
    recovered = next((line for line in lines if line["message"].startswith("failure hang")), None)
    recovery_ms = ran[0]["at"] - verdict["at"] if ran else None

    ok = recovered is not None and ("recovered by " + expected) in recovered["message"]
    ok = ok and kept == (expected == "interrupt") and recovery_ms is not None
    if recovery_ms is not None:
        print("  -> verdict hang, recovered by " + expected + ", Python state " + ("kept" if kept else "lost")
              + ", next result " + str(round(recovery_ms)) + " ms after the verdict")
    page.close()
    return ok, recovery_ms


def main():
    started = time.monotonic()
    results = {}
    passed = True
    with Server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        for name, path, expected in SCENARIOS:
            ok, recovery_ms = scenario(browser, server.origin, name, path, expected)
            results[expected] = recovery_ms
            passed = passed and ok and recovery_ms is not None
            print("  " + ("PASS" if ok else "FAIL"))
        browser.close()

    print("\n== recovery, from verdict to the next task's result ==")
    cold = results.get("restart")
    for key in ("restart", "spare", "interrupt"):
        value = results.get(key)
        if value is None:
            continue
        ratio = "" if key == "restart" or not value else "  (" + str(round(cold / value, 1)) + "x faster than a cold restart)"
        print("  " + key.ljust(10) + str(round(value)).rjust(7) + " ms" + ratio)
    print("\ndemo " + ("passed" if passed else "FAILED") + " in " + str(round(time.monotonic() - started)) + " s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
