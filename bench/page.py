"""The benchmark page (bench/pages/bench.html) driven from Python.

Every measurement runs inside the page as one async function of `window.bench`, with its
own deadlines, so `call` always returns or raises.
"""

import urllib.parse

PAGE_PATH = "/bench/pages/bench.html"
# Kept console lines per page, printed when a measurement fails.
MAX_CONSOLE_LINES = 200


class PageError(Exception):
    """The benchmark page could not load its manager module."""


class BenchPage:
    """One browser tab on the benchmark page, under a header mode prefix ("" or "/plain")."""

    def __init__(self, browser, origin, prefix="", manager=None):
        self.page = browser.new_page()
        self.console = []
        self.page.on("console", self._keep_console)
        self.page.on("pageerror", lambda error: self._keep_line("pageerror: " + str(error)))
        url = origin + prefix + PAGE_PATH
        if manager is not None:
            url += "?manager=" + urllib.parse.quote(manager)
        self.page.goto(url)
        self.page.wait_for_function("() => document.getElementById('status').textContent !== 'loading'",
                                    timeout=30000)
        error = self.page.evaluate("() => window.benchError || null")
        if error is not None:
            self.close()
            raise PageError(error)

    def _keep_console(self, message):
        self._keep_line(message.type + ": " + message.text)

    def _keep_line(self, line):
        if len(self.console) < MAX_CONSOLE_LINES:
            self.console.append(line)

    def call(self, function, *args):
        """Await `bench[function](...args)` in the page and return its value."""
        return self.page.evaluate("([name, args]) => bench[name](...args)", [function, list(args)])

    def evaluate(self, script, arg=None):
        return self.page.evaluate(script, arg)

    def make(self, name, options, kind="supervisor"):
        self.call("make", name, kind, options)

    def close(self):
        self.page.close()
