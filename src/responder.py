"""Worker-side responder: answers pings and runs tasks, inside Pyodide.

The worker bootstrap (web/worker.mjs) loads Pyodide and hands every message to
`Responder.handle`. Pongs are sent from here, from Python, so a pong shows that the
interpreter can still run Python. Output is batched and bounded per task before it is
posted, so code that prints without end cannot flood the page.
"""

import asyncio
import sys
import time
import traceback

import js
from pyodide.code import eval_code_async
from pyodide.ffi import ConversionError, JsException, to_js

import protocol

# An output message is posted once this many characters wait, or this long after the
# previous one, whichever comes first.
FLUSH_CHARS = 32 * 1024
FLUSH_SECONDS = 0.05
# Once the budget is spent, the count of dropped characters is reported this often, so
# that a worker killed mid-flood has already reported what it cut.
DROP_REPORT_SECONDS = 0.5


def _plain(value):
    """Convert a task's result to plain JavaScript: dicts to objects, None to null."""
    return to_js(value, dict_converter=js.Object.fromEntries, default_converter=_refuse,
                 create_pyproxies=False)


def _refuse(value, convert, cache):
    raise ConversionError("no conversion for Python type " + type(value).__name__)


def _clip(text):
    """Keep a text field within the page's limit, with its end, where a traceback names the error."""
    limit = protocol.MAX_TEXT_FIELD - 100
    if len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + "\n[... " + str(len(text) - limit) + " characters cut ...]\n" + text[-half:]


def _user_frames(tb):
    """Skip the responder's and Pyodide's own frames, down to the task's code."""
    first = tb
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<task>":
            return tb
        tb = tb.tb_next
    return first


class TaskOutput:
    """A text stream that batches writes into output messages and keeps at most a budget."""

    def __init__(self, responder, task_id, stream_name, budget):
        self.responder = responder
        self.task_id = task_id
        self.stream_name = stream_name
        self.budget = budget
        self.pending = []
        self.pending_chars = 0
        self.reported_dropped = 0
        self.last_flush = time.monotonic()

    def write(self, text):
        text = str(text)
        room = self.budget.room()
        kept = text[:room]
        self.budget.spend(len(kept), len(text) - len(kept))
        if kept:
            self.pending.append(kept)
            self.pending_chars += len(kept)
        since = time.monotonic() - self.last_flush
        if self.pending_chars >= FLUSH_CHARS or (self.pending and since >= FLUSH_SECONDS):
            self.flush()
        elif self.budget.dropped > self.reported_dropped and since >= DROP_REPORT_SECONDS:
            self.flush()
        return len(text)

    def flush(self):
        self.last_flush = time.monotonic()
        if not self.pending and self.budget.dropped == self.reported_dropped:
            return
        text = "".join(self.pending)
        self.pending = []
        self.pending_chars = 0
        self.reported_dropped = self.budget.dropped
        self.responder.post({"type": protocol.OUTPUT, "task": self.task_id, "stream": self.stream_name,
                             "text": text, "dropped": self.budget.dropped})

    def isatty(self):
        return False

    def writable(self):
        return True


class OutputBudget:
    """The characters of stdout and stderr together that one task may send."""

    def __init__(self, limit):
        self.limit = limit
        self.used = 0
        self.dropped = 0

    def room(self):
        return max(0, self.limit - self.used)

    def spend(self, kept, dropped):
        self.used += kept
        self.dropped += dropped


class Responder:
    def __init__(self, gen, max_output):
        self.gen = gen
        self.max_output = max_output
        self.namespace = {"__name__": "__main__"}
        self.running = {}

    def post(self, message):
        message["gen"] = self.gen
        js.postMessage(to_js(message, dict_converter=js.Object.fromEntries))

    def handle(self, data):
        try:
            self.dispatch(data)
        except KeyboardInterrupt:
            # A SIGINT meant for a task that has just finished; the page sends another ping.
            pass

    def dispatch(self, data):
        kind = data.type
        if kind == protocol.PING:
            self.post({"type": protocol.PONG, "seq": data.seq, "nonce": data.nonce})
        elif kind == protocol.RUN:
            task_id = data.task
            self.running[task_id] = asyncio.ensure_future(self.run(task_id, data.code))
        elif kind == protocol.CANCEL:
            running = self.running.get(data.task)
            if running is not None:
                running.cancel()

    async def setup(self, code):
        """Run the page's set-up code; an exception propagates and fails the start."""
        if code:
            await eval_code_async(code, globals=self.namespace)

    async def run(self, task_id, code):
        budget = OutputBudget(self.max_output)
        stdout = TaskOutput(self, task_id, "stdout", budget)
        stderr = TaskOutput(self, task_id, "stderr", budget)
        saved = [sys.stdout, sys.stderr]
        sys.stdout = stdout
        sys.stderr = stderr
        try:
            value = await eval_code_async(code, globals=self.namespace, filename="<task>")
        except BaseException as error:  # noqa: B036 - everything the code raises goes to the page
            sys.stdout = saved[0]
            sys.stderr = saved[1]
            stdout.flush()
            stderr.flush()
            self.running.pop(task_id, None)
            self.post_error(task_id, error, budget)
            return
        sys.stdout = saved[0]
        sys.stderr = saved[1]
        stdout.flush()
        stderr.flush()
        self.running.pop(task_id, None)
        self.post_result(task_id, value, budget)

    def post_result(self, task_id, value, budget):
        message = {"type": protocol.RESULT, "task": task_id, "outputDropped": budget.dropped}
        try:
            converted = _plain(value)
        except Exception as error:  # noqa: BLE001 - any conversion failure is reported
            self.post_unsendable(task_id, value, error, budget)
            return
        try:
            message["value"] = converted
            self.post(message)
        except JsException as error:
            # postMessage raised: the converted value cannot be cloned (DataCloneError).
            self.post_unsendable(task_id, value, error, budget)

    def post_unsendable(self, task_id, value, error, budget):
        python_type = type(value).__name__
        self.post({"type": protocol.ERROR, "task": task_id, "pythonType": "ConversionError",
                   "message": "the result of type " + python_type
                   + " cannot be sent to the page: " + str(error),
                   "traceback": "", "outputDropped": budget.dropped})

    def post_error(self, task_id, error, budget):
        text = "".join(traceback.format_exception(type(error), error, _user_frames(error.__traceback__)))
        self.post({"type": protocol.ERROR, "task": task_id,
                   "pythonType": type(error).__name__, "message": _clip(str(error)),
                   "traceback": _clip(text), "outputDropped": budget.dropped})


def install(gen, max_output):
    """Create the responder for the worker of this generation."""
    return Responder(gen, max_output)
