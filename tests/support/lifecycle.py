"""Hide, freeze and resume a page in a Chromium started without Playwright's focus emulation.

Playwright turns on focus emulation for every page it creates, and Chromium then keeps that
page visible with its timers at full rate whatever the test does. A Chromium started here
and attached over CDP with no_defaults leaves the first page of its default context alone,
so a tab opened in front hides the page and Page.setWebLifecycleState freezes it.
"""

import contextlib
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH

# Chromium writes DevToolsActivePort within a second here, and a loaded machine may need more.
PORT_TIMEOUT_S = 30
EXIT_TIMEOUT_S = 10

# Records lifecycle events and the ticks of a 100 ms probe interval with the page's clock.
# With worker_counter, a plain Web Worker also adds 1 to a shared counter every 10 ms, so a
# test can tell whether the page's workers ran while the page was frozen.
RECORD_LIFECYCLE = """(workerCounter) => {
  const record = { events: [], ticks: [], counter: null, counterWorker: null };
  for (const type of ["visibilitychange", "freeze", "resume", "pagehide", "pageshow"]) {
    document.addEventListener(type, () => {
      const entry = { type, at: performance.now(), visibility: document.visibilityState };
      if (record.counter !== null) entry.counter = Atomics.load(record.counter, 0);
      record.events.push(entry);
    });
  }
  // 6000 ticks are 10 minutes at full rate; later ticks are dropped.
  record.timer = setInterval(() => {
    if (record.ticks.length < 6000) record.ticks.push(performance.now());
  }, 100);
  if (workerCounter) {
    record.counter = new Int32Array(new SharedArrayBuffer(4));
    const source = "onmessage = (event) => { const counter = event.data;"
      + " setInterval(() => Atomics.add(counter, 0, 1), 10); };";
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    record.counterWorker = new Worker(url);
    record.counterWorker.postMessage(record.counter);
  }
  window.lifecycle = record;
}"""


def record_lifecycle(page, worker_counter=False):
    """Start recording visibilitychange, freeze and resume events and timer ticks in the page."""
    page.evaluate(RECORD_LIFECYCLE, worker_counter)


def lifecycle_events(page, event_type=None):
    events = page.evaluate("() => window.lifecycle.events")
    if event_type is None:
        return events
    return [event for event in events if event["type"] == event_type]


def tick_gaps(page, start, end):
    """Return the gaps in ms between the probe interval's ticks that fell within [start, end]."""
    ticks = page.evaluate("([start, end]) => window.lifecycle.ticks.filter((t) => t >= start && t <= end)",
                          [start, end])
    return [later - earlier for earlier, later in zip(ticks, ticks[1:])]


def counter_value(page):
    return page.evaluate("() => Atomics.load(window.lifecycle.counter, 0)")


class LifecyclePage:
    """A page that the test can hide, show, freeze and resume through CDP."""

    def __init__(self, browser, page):
        self.browser = browser
        self.page = page
        self.browser_session = browser.new_browser_cdp_session()
        self.page_session = page.context.new_cdp_session(page)
        self.covers = []

    def hide(self):
        """Open a blank tab in front of the page, which then gets a visibilitychange to hidden."""
        created = self.browser_session.send("Target.createTarget", {"url": "about:blank", "newWindow": False})
        self.covers.append(created["targetId"])

    def show(self):
        """Bring the page to the front again and close the tabs that covered it."""
        self.page.bring_to_front()
        covers = self.covers
        self.covers = []
        for target_id in covers:
            self.browser_session.send("Target.closeTarget", {"targetId": target_id})

    def freeze(self):
        # Hide the page first, as Chromium freezes only background pages. Freezing a visible
        # page hides it without a tab in front, and show() then cannot make it visible again.
        self.page_session.send("Page.setWebLifecycleState", {"state": "frozen"})

    def resume(self):
        # The page gets a resume event but stays hidden until show().
        self.page_session.send("Page.setWebLifecycleState", {"state": "active"})


def read_devtools_port(profile, process, timeout_s=PORT_TIMEOUT_S):
    """Wait until Chromium writes its DevTools port into the profile folder, and return it."""
    port_file = pathlib.Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("Chromium exited with status " + str(process.returncode)
                               + " before it wrote " + str(port_file))
        if port_file.exists():
            lines = port_file.read_text().splitlines()
            if len(lines) >= 1 and lines[0].isdigit():
                return int(lines[0])
        time.sleep(0.05)
    raise RuntimeError(str(port_file) + " was not written within " + str(timeout_s) + " s")


def stop_process_group(process):
    """Terminate Chromium, then kill whatever is left of the process group it leads."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(EXIT_TIMEOUT_S)
    # Renderer and utility processes exit on their own once the browser process is gone.
    deadline = time.monotonic() + EXIT_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def unemulated_chromium(playwright):
    """Start Chromium with remote debugging on 127.0.0.1 and yield a LifecyclePage.

    The Chromium process and its profile folder are removed on exit.
    """
    profile = tempfile.mkdtemp(prefix="watchdog-chromium-")
    command = [
        CHROMIUM_PATH,
        "--headless",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "--user-data-dir=" + profile,
        *CHROMIUM_ARGS,
        "about:blank",
    ]
    # A session of its own makes Chromium the leader of a process group that holds only its
    # own children, so teardown can find them by that group's id.
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port = read_devtools_port(profile, process)
        browser = playwright.chromium.connect_over_cdp("http://127.0.0.1:" + str(port), no_defaults=True)
        try:
            context = browser.contexts[0]
            if len(context.pages) == 0:
                context.wait_for_event("page", timeout=PORT_TIMEOUT_S * 1000)
            yield LifecyclePage(browser, context.pages[0])
        finally:
            browser.close()
    finally:
        stop_process_group(process)
        shutil.rmtree(profile, ignore_errors=True)
