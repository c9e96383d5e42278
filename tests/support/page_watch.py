"""Watch a page's main thread and its worker traffic from the tests.

Long tasks are read from a PerformanceObserver of "longtask" entries, which Chromium fills
with every main-thread task over 50 ms, whatever ran in it (message events included). A
timer gap monitor would mix in timer clamping and only sample between its own ticks.
"""

# A deliberate busy loop this long proves the observer reports long tasks on this page.
CALIBRATION_MS = 120

WATCH_LONG_TASKS = """() => {
  const watch = { longest: 0, count: 0, entries: [] };
  watch.observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      watch.count += 1;
      watch.longest = Math.max(watch.longest, entry.duration);
      if (watch.entries.length < 50) {
        watch.entries.push({ start: entry.startTime, duration: entry.duration });
      }
    }
  });
  watch.observer.observe({ type: "longtask", buffered: false });
  window.longTaskWatch = watch;
}"""

# Wraps the page's Worker constructor so every message a worker posts is counted before the
# supervisor sees it. Forged messages carry a "forged" field (or are the string or array
# forms the responder never sends), so they can be told from the responder's own.
COUNT_WORKER_MESSAGES = """() => {
  const counts = { total: 0, forged: 0, outputChars: 0, outputMessages: 0, byType: {} };
  const isForged = (data) => {
    if (data === null || typeof data !== "object") return true;
    if (Array.isArray(data)) return true;
    return "forged" in data;
  };
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


def watch_long_tasks(page, calibrate=True):
    """Start recording main-thread long tasks; first check that a known one is seen."""
    page.evaluate(WATCH_LONG_TASKS)
    if not calibrate:
        return
    # Run the loop from a timer: a task run by the DevTools protocol is not observed.
    page.evaluate("(ms) => { setTimeout(() => { const end = performance.now() + ms;"
                  " while (performance.now() < end) {} }, 0); }", CALIBRATION_MS)
    page.wait_for_function("(ms) => window.longTaskWatch.longest >= ms", arg=CALIBRATION_MS, timeout=5000)
    reset_long_tasks(page)


def reset_long_tasks(page):
    page.evaluate("() => { window.longTaskWatch.longest = 0; window.longTaskWatch.count = 0;"
                  " window.longTaskWatch.entries = []; }")


def long_tasks(page):
    """Return {longest, count, entries} for the long tasks seen since the last reset."""
    return page.evaluate("() => ({ longest: window.longTaskWatch.longest, count: window.longTaskWatch.count,"
                         " entries: window.longTaskWatch.entries })")


def count_worker_messages(page):
    """Count what workers post to the page; call before the supervisor is made."""
    page.evaluate(COUNT_WORKER_MESSAGES)


def worker_messages(page):
    return page.evaluate("() => JSON.parse(JSON.stringify(window.workerMessages))")


def page_problems(console_lines):
    """Return the uncaught exceptions and console errors recorded by the page fixture."""
    return [line for line in console_lines if line.startswith("pageerror: ") or line.startswith("error: ")]
