"""Watch a page's main thread and its worker traffic from the tests.

Two measures of main-thread delay, because they catch different faults:
- a PerformanceObserver of "longtask" entries, which Chromium fills with every main-thread
  task over 50 ms, whatever ran in it (a message event, a timer, a parse);
- a timer gap monitor: a 10 ms interval that records the longest time between its runs.
  The supervisor's heartbeat runs on timers, so this is the delay it would see. It also
  catches a flood of short tasks that keeps timers waiting, which no long task reports.
  About 30,000 worker messages a second for 2 s gave no long task but timer gaps of 690 ms.
"""

# A deliberate busy loop this long proves the long task observer reports on this page.
CALIBRATION_MS = 120
GAP_INTERVAL_MS = 10

WATCH_MAIN_THREAD = """([calibrationMs, intervalMs]) => {
  const watch = { longestTask: 0, longTasks: 0, longestGap: 0, last: performance.now() };
  watch.observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      watch.longTasks += 1;
      watch.longestTask = Math.max(watch.longestTask, entry.duration);
    }
  });
  watch.observer.observe({ type: "longtask", buffered: false });
  watch.timer = setInterval(() => {
    const at = performance.now();
    watch.longestGap = Math.max(watch.longestGap, at - watch.last);
    watch.last = at;
  }, intervalMs);
  // A task run through the DevTools protocol is not observed, so the busy loop runs from a timer.
  setTimeout(() => {
    const end = performance.now() + calibrationMs;
    while (performance.now() < end) {}
  }, 0);
  window.mainThreadWatch = watch;
}"""

RESET_MAIN_THREAD = """() => {
  const watch = window.mainThreadWatch;
  watch.longestTask = 0;
  watch.longTasks = 0;
  watch.longestGap = 0;
  watch.last = performance.now();
}"""

# Wraps the page's Worker constructor so every message a worker posts is counted before the
# supervisor receives it. A forged message carries a "forged" field or is not an object at
# all (the responder posts only objects), so the counter can separate the two.
COUNT_WORKER_MESSAGES = """() => {
  const counts = { total: 0, forged: 0, outputChars: 0, outputMessages: 0, byType: {} };
  const isForged = (data) => data === null || typeof data !== "object" || Array.isArray(data) || "forged" in data;
  const Native = window.Worker;
  window.Worker = class CountedWorker extends Native {
    constructor(url, options) {
      super(url, options);
      this.addEventListener("message", (event) => {
        const data = event.data;
        counts.total += 1;
        if (isForged(data)) {
          counts.forged += 1;
          return;
        }
        const type = String(data.type);
        counts.byType[type] = (counts.byType[type] || 0) + 1;
        if (type === "output" && typeof data.text === "string") {
          counts.outputMessages += 1;
          counts.outputChars += data.text.length;
        }
      });
    }
  };
  window.workerMessages = counts;
}"""


def watch_main_thread(page):
    """Start both delay measures; first check that the observer reports a known long task."""
    page.evaluate(WATCH_MAIN_THREAD, [CALIBRATION_MS, GAP_INTERVAL_MS])
    page.wait_for_function("(ms) => window.mainThreadWatch.longestTask >= ms", arg=CALIBRATION_MS, timeout=5000)
    page.evaluate(RESET_MAIN_THREAD)


def main_thread_delays(page):
    """Return {longestTask, longTasks, longestGap} in ms since watch_main_thread."""
    return page.evaluate("() => { const w = window.mainThreadWatch;"
                         " return { longestTask: w.longestTask, longTasks: w.longTasks, longestGap: w.longestGap }; }")


def keep_delays_at_failure(page):
    """Copy the delays when the supervisor emits its first failure event.

    The copy (delays_at_failure) leaves out the restart that follows the verdict, because a
    new worker compiling Pyodide competes with the main thread for the CPU.
    """
    page.evaluate("""() => {
      sup.addEventListener("failure", () => {
        const w = window.mainThreadWatch;
        window.delaysAtFailure ??= { longestTask: w.longestTask, longTasks: w.longTasks, longestGap: w.longestGap };
      });
    }""")


def delays_at_failure(page):
    return page.evaluate("() => window.delaysAtFailure ?? null")


def count_worker_messages(page):
    """Count what workers post to the page; call before the supervisor is made."""
    page.evaluate(COUNT_WORKER_MESSAGES)


def worker_messages(page):
    return page.evaluate("() => JSON.parse(JSON.stringify(window.workerMessages))")


def collect_main_thread_errors(page):
    """Return a list that fills with the page's uncaught exceptions and console errors.

    Console messages from workers reach the page's console event too; they are left out.
    """
    errors = []

    def on_console(message):
        if message.type == "error" and message.worker is None:
            errors.append("console error: " + message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append("uncaught: " + str(error)))
    return errors
