"""Browser adapter: binds the supervision core to Worker, timers, the page lifecycle and events.

Transcrypt entry point (`transcrypt -b src/manager.py`); it exports `Supervisor` and
`Pool`. The core decides, this module performs: it creates and terminates workers, posts
messages, keeps the one timer, turns actions into promises and DOM events, and logs.
JavaScript property names that Transcrypt would rename (type, name, keys, ...) are read
with subscripts, and native errors are built with `__new__`.
"""

import core
from options import OptionError, check_task_timeout
import protocol

__pragma__('js', '{}', 'const moduleUrl = import.meta.url;')

LOG_PREFIX = "[pyodide-watchdog]"
# Ignored messages are logged for the first few, then once per this many.
LOG_EVERY_IGNORED = 1000
TEXT_FIELDS = ["pythonType", "message", "traceback", "kind", "stream"]


def now():
    return performance.now()


def draw_nonce():
    return crypto.getRandomValues(__new__(Uint32Array(1)))[0]


def missing(value):
    return __pragma__('js', '{}', 'value === undefined || value === null')


def is_object(value):
    return __pragma__('js', '{}', 'value !== null && typeof value === "object" && !Array.isArray(value)')


def is_text(value):
    return __pragma__('js', '{}', 'typeof value === "string"')


def same(first, second):
    """JavaScript's strict equality: Transcrypt turns == and != into the loose ones."""
    return __pragma__('js', '{}', 'first === second')


def is_count(value):
    return __pragma__('js', '{}', 'typeof value === "number" && Number.isSafeInteger(value) && value >= 0')


def has_document():
    return __pragma__('js', '{}', 'typeof document !== "undefined"')


def own_names(value):
    return __pragma__('js', '{}', 'Object.keys(value)')


def caught(thunk):
    """Call thunk; return the JavaScript value it threw, or None if it returned."""
    __pragma__('js', '{}', 'try { thunk(); } catch (error) { return error === null || error === undefined ? "unknown error" : error; }')
    return None


def shown(value):
    """Render a caller's value for an error message."""
    if is_text(value):
        return JSON.stringify(value)
    return __pragma__('js', '{}', 'Object.prototype.toString.call(value) === "[object Object]" ? "an object" : String(value)')


def native_error(error):
    if error.is_range:
        return __new__(RangeError(error.message))
    return __new__(js_TypeError(error.message))


def resolve_url(value, fallback):
    return str(__new__(URL(value if not missing(value) else fallback, moduleUrl)).href)


class _Supervised:
    """The part Supervisor and Pool share: the core, the workers, the timer and the tasks."""

    def __init__(self, options, pool):
        if missing(options):
            options = {}
        if not is_object(options):
            raise __new__(js_TypeError("options must be an object, got " + shown(options)))

        def lookup(name):
            value = options[name]
            return None if missing(value) else value

        try:
            self._core = core.create(own_names(options), lookup, pool, draw_nonce, now())
        except OptionError as error:
            raise native_error(error)
        settings = self._core.settings
        self._worker_url = resolve_url(settings.get("workerUrl"), "../web/worker.mjs")
        self._index_url = resolve_url(settings.get("indexURL"), "../web/pyodide/")
        self._protocol_url = resolve_url(None, "protocol.py")
        self._responder_url = resolve_url(None, "responder.py")
        self._max_output = settings.get("maxOutput")
        self._isolated = __pragma__('js', '{}', 'globalThis.crossOriginIsolated === true')
        if settings.get("interrupt") is True and not self._isolated:
            console.warn(LOG_PREFIX, "interrupt: true needs a cross-origin isolated page "
                         "(COOP same-origin and COEP require-corp); workers will be restarted instead")

        self._events = __new__(EventTarget())
        self._workers = {}
        self._tasks = {}
        self._next_task = 0
        self._ignored = 0
        self._timer = None
        self._timer_at = None
        self._waiters = []
        self._message = None
        self._listeners = []
        self._watch_page()
        self._apply(self._core.start(now()))

    # -- the public surface ---------------------------------------------------------------

    def addEventListener(self, event_name, listener, listener_options):
        self._events.addEventListener(event_name, listener, listener_options)

    def removeEventListener(self, event_name, listener, listener_options):
        self._events.removeEventListener(event_name, listener, listener_options)

    def _get_state(self):
        return self._core.state()

    state = property(_get_state)

    def whenReady(self):
        """Return a promise that resolves once a worker is ready, or rejects if none can be."""
        def executor(resolve, reject):
            self._waiters.append([resolve, reject])
            self._settle_waiters()
        return __new__(Promise(executor))

    def run(self, code, run_options):
        """Queue Python code; the promise settles once, with the result or a kinded error."""
        def executor(resolve, reject):
            if not is_text(code):
                reject(__new__(js_TypeError("code must be a string of Python source, got " + shown(code))))
                return
            timeout = None
            if not missing(run_options):
                if not is_object(run_options):
                    reject(__new__(js_TypeError("run options must be an object, got " + shown(run_options))))
                    return
                for name in own_names(run_options):
                    if name != "timeout":
                        reject(__new__(js_TypeError("unknown run option " + name + "; the only run option is timeout")))
                        return
                try:
                    timeout = check_task_timeout(None if missing(run_options.timeout) else run_options.timeout)
                except OptionError as error:
                    reject(native_error(error))
                    return
            self._next_task += 1
            task_id = self._next_task
            self._tasks[str(task_id)] = {
                "resolve": resolve, "reject": reject, "code": code, "gen": 0,
                "stdout": [], "stderr": [], "kept": 0, "dropped": 0,
            }
            self._apply(self._core.submit(now(), task_id, timeout))
        return __new__(Promise(executor))

    def interrupt(self):
        """Send SIGINT to the running task(s); return whether it was sent, not whether it took."""
        actions = self._core.interrupt(now())
        self._apply(actions)
        for action in actions:
            if action[0] == "interrupt":
                self._schedule_withdrawal(action[2])
        return len(actions) > 0

    def _schedule_withdrawal(self, gen):
        setTimeout(lambda: self._withdraw_interrupt(gen), self._core.settings.get("interruptGrace"))

    def _withdraw_interrupt(self, gen):
        """Clear a SIGINT that has not landed: Pyodide 314 keeps it pending through time.sleep() and
        can deliver it later to its own event loop instead of the task."""
        record = self._record(gen)
        if record is None or record["interrupt"] is None:
            return
        if Atomics.exchange(record["interrupt"], 0, 0) != 0:
            console.warn(LOG_PREFIX, "the interrupt sent to worker generation", gen,
                         "did not land within interruptGrace; it was withdrawn")

    def restart(self):
        self._apply(self._core.restart(now()))

    def stop(self):
        self._apply(self._core.stop(now()))
        for entry in self._listeners:
            entry[0].removeEventListener(entry[1], entry[2])
        self._listeners = []
        if self._timer is not None:
            clearTimeout(self._timer)
            self._timer = None

    def stats(self):
        result = self._core.stats(now())
        result["ignoredMessages"] = result["ignoredMessages"] + self._ignored
        result["crossOriginIsolated"] = self._isolated
        return __pragma__('js', '{}', 'JSON.parse(JSON.stringify(result))')

    # -- page lifecycle -----------------------------------------------------------------

    def _listen(self, target, event_name, handler):
        target.addEventListener(event_name, handler)
        self._listeners.append([target, event_name, handler])

    def _watch_page(self):
        if not has_document():
            return

        def on_visibility(event):
            hidden = document.visibilityState == "hidden"
            self._apply(self._core.visibility(now(), hidden))

        def on_freeze(event):
            self._apply(self._core.frozen(now()))

        def on_resume(event):
            self._apply(self._core.resumed(now()))

        self._listen(document, "visibilitychange", on_visibility)
        self._listen(document, "freeze", on_freeze)
        self._listen(document, "resume", on_resume)
        if document.visibilityState == "hidden":
            self._core.visibility(now(), True)

    # -- actions ------------------------------------------------------------------------

    def _apply(self, actions):
        for action in actions:
            error = caught(lambda: self._perform(action))
            if error is not None:
                console.error(LOG_PREFIX, "action", action[0], "failed:", error)
        self._arm()

    def _perform(self, action):
        verb = action[0]
        if verb == "spawn":
            self._spawn(action[1], action[2])
        elif verb == "terminate":
            self._terminate(action[2])
        elif verb == "ping":
            self._post(action[2], {"type": protocol.PING, "seq": action[3], "nonce": action[4], "gen": action[2]})
        elif verb == "run":
            entry = self._task_entry(action[3])
            entry["gen"] = action[2]
            self._post(action[2], {"type": protocol.RUN, "task": action[3], "code": entry["code"], "gen": action[2]})
        elif verb == "cancel":
            self._post(action[2], {"type": protocol.CANCEL, "task": action[3], "gen": action[2]})
        elif verb == "interrupt":
            record = self._record(action[2])
            if record is not None and record["interrupt"] is not None:
                Atomics.store(record["interrupt"], 0, 2)
        elif verb == "resolve":
            self._resolve(action[1])
        elif verb == "reject":
            self._reject(action[1], action[2], action[3], action[4])
        elif verb == "state":
            self._emit("statechange", {"state": action[2], "generation": action[3], "member": action[1]})
            console.info(LOG_PREFIX, "member", action[1], "generation", action[3], "is", action[2])
            self._settle_waiters()
        elif verb == "failure":
            details = action[2]
            console.warn(LOG_PREFIX, "member", action[1], "generation", details["generation"],
                         details["kind"] + ":", details["message"], "recovered:", details["recovered"])
            self._emit("failure", details)
            self._settle_waiters()

    def _emit(self, event_name, detail):
        plain = __pragma__('js', '{}', 'JSON.parse(JSON.stringify(detail))')
        self._events.dispatchEvent(__new__(CustomEvent(event_name, {"detail": plain})))

    def _arm(self):
        at = self._core.next_wakeup(now())
        if at is None:
            if self._timer is not None:
                clearTimeout(self._timer)
            self._timer = None
            self._timer_at = None
            return
        if self._timer is not None and self._timer_at == at:
            return
        if self._timer is not None:
            clearTimeout(self._timer)
        self._timer_at = at
        self._timer = setTimeout(self._on_timer, max(0, at - now()))

    def _on_timer(self):
        if self._timer is not None:
            clearTimeout(self._timer)
        self._timer = None
        self._timer_at = None
        self._sample_progress()
        self._apply(self._core.tick(now()))

    def _sample_progress(self):
        for gen in self._core.beacon_generations():
            record = self._record(gen)
            if record is not None and record["progress"] is not None:
                self._apply(self._core.on_progress(now(), gen, Atomics.load(record["progress"], 0)))

    # -- workers --------------------------------------------------------------------------

    def _spawn(self, member, gen):
        settings = self._core.settings
        record = {"worker": None, "member": member, "interrupt": None, "progress": None}
        init = {
            "type": protocol.INIT, "gen": gen, "indexURL": self._index_url,
            "protocolUrl": self._protocol_url, "responderUrl": self._responder_url,
            "setupCode": settings.get("setupCode"), "maxOutput": self._max_output,
            "interruptBuffer": None, "progressBuffer": None,
        }
        if self._isolated and settings.get("interrupt") is not False:
            init["interruptBuffer"] = __new__(SharedArrayBuffer(1))
            record["interrupt"] = __new__(Uint8Array(init["interruptBuffer"]))
            if settings.get("progress"):
                init["progressBuffer"] = __new__(SharedArrayBuffer(4))
                record["progress"] = __new__(Int32Array(init["progressBuffer"]))
        self._workers[str(gen)] = record
        console.info(LOG_PREFIX, "member", member, "starting worker generation", gen)
        def create():
            record["worker"] = __new__(Worker(self._worker_url, {"type": "module", "name": "pyodide-" + str(gen)}))

        error = caught(create)
        if error is not None:
            message = "could not create a worker from " + self._worker_url + ": " + String(error)
            # Report after the current actions, as the worker itself would report a failure.
            setTimeout(lambda: self._apply(self._core.on_worker_failure(now(), gen, protocol.LOAD, message)), 0)
            return
        worker = record["worker"]
        worker.addEventListener("message", lambda event: self._on_message(gen, event))
        worker.addEventListener("error", lambda event: self._on_error(gen, event))
        worker.addEventListener("messageerror", lambda event: self._on_bad_message(gen, "messageerror"))
        worker.postMessage(init)

    def _record(self, gen):
        record = self._workers[str(gen)]
        return None if missing(record) else record

    def _terminate(self, gen):
        record = self._record(gen)
        if record is None:
            return
        if record["worker"] is not None:
            record["worker"].terminate()
        del self._workers[str(gen)]
        console.info(LOG_PREFIX, "terminated worker generation", gen)

    def _post(self, gen, message):
        record = self._record(gen)
        if record is not None and record["worker"] is not None:
            record["worker"].postMessage(message)

    # -- messages from workers -----------------------------------------------------------

    def _on_bad_message(self, gen, reason):
        self._ignored += 1
        if self._ignored <= 5 or self._ignored % LOG_EVERY_IGNORED == 0:
            console.warn(LOG_PREFIX, "ignored a message from worker generation", gen, "(" + reason + ");",
                         self._ignored, "ignored so far")

    def _on_error(self, gen, event):
        message = "error event"
        if is_text(event.message) and event.message != "":
            message = event.message
            if is_text(event.filename) and event.filename != "":
                message = message + " (" + event.filename + ":" + str(event.lineno) + ")"
        # The supervisor handles it; keep it out of the console's uncaught errors.
        event.preventDefault()
        if self._core.is_starting(gen):
            self._describe_load_error(gen, message)
            return
        self._apply(self._core.on_error_event(now(), gen, message))

    def _describe_load_error(self, gen, message):
        """Name the HTTP status when the worker script itself could not be fetched."""
        url = self._worker_url

        def report(description):
            self._apply(self._core.on_worker_failure(now(), gen, protocol.LOAD, description))

        def checked(response):
            if response.ok:
                # Chromium does not pass a module worker's top-level exception to the page.
                detail = message if message != "error event" else "the browser gave no detail; see the worker's console"
                report("the worker script " + url + " loaded but failed while evaluating: " + detail)
            else:
                report("the worker script " + url + " answered HTTP " + str(response.status))

        def unreachable(error):
            report("the worker script " + url + " could not be fetched: " + String(error))

        fetch(url, {"cache": "no-store", "signal": AbortSignal.timeout(5000)}).then(checked, unreachable)

    def _on_message(self, gen, event):
        self._core.saw_message(now(), gen)
        outcome = {"reason": None}

        def handle():
            outcome["reason"] = self._handle_message(gen, event.data)

        error = caught(handle)
        reason = outcome["reason"]
        if error is not None:
            reason = "reading it failed: " + String(error)
        if reason is not None:
            self._on_bad_message(gen, reason)
        if self._timer_at is not None and now() - self._timer_at > self._core.settings.get("lateTolerance"):
            # A stream of messages is holding the timer back, and this handler does run:
            # tick here, after the message, so that a result it carried counts first.
            self._on_timer()

    def _handle_message(self, gen, data):
        """Check a message's shape and pass it to the core; return why it was ignored, or None."""
        if not is_object(data) or not is_text(data["type"]):
            return "not an object with a string type"
        if not same(data["gen"], gen):
            return "wrong generation"
        for field in TEXT_FIELDS:
            value = data[field]
            if missing(value):
                continue
            if not is_text(value):
                return "field " + field + " is not a string"
            if value.length > protocol.MAX_TEXT_FIELD:
                # Cut rather than drop: dropping a task's own error would leave it pending.
                data[field] = value.slice(0, protocol.MAX_TEXT_FIELD) + "\n[cut at " + str(protocol.MAX_TEXT_FIELD) + " characters]"
        kind = data["type"]
        at = now()
        if kind == protocol.PONG:
            if not is_count(data.seq) or not is_count(data.nonce):
                return "pong without a numeric seq and nonce"
            return self._core_said(self._core.on_pong(at, gen, data.seq, data.nonce))
        if kind == protocol.OUTPUT:
            return self._output(gen, data)
        if kind == protocol.RESULT:
            if not is_count(data.task):
                return "result without a task number"
            self._message = data
            return self._core_said(self._core.on_result(at, gen, data.task))
        if kind == protocol.ERROR:
            if not is_count(data.task) or not is_text(data.pythonType) or not is_text(data.message):
                return "error without task, pythonType or message"
            self._message = data
            return self._core_said(self._core.on_python_error(at, gen, data.task, data.pythonType, data.message))
        if kind == protocol.READY:
            record = self._record(gen)
            interruptible = data.interrupt is True and record is not None and record["interrupt"] is not None
            progress = data.progress is True and record is not None and record["progress"] is not None
            return self._core_said(self._core.on_ready(at, gen, interruptible, progress))
        if kind == protocol.FAILED:
            if data.kind not in [protocol.FATAL, protocol.OOM, protocol.LOAD, protocol.CRASH]:
                return "failed with an unknown kind"
            message = data.message if is_text(data.message) else "no message"
            return self._core_said(self._core.on_worker_failure(at, gen, data.kind, message))
        return "unknown type"

    def _core_said(self, actions):
        """Apply the core's actions; a message the core ignored is counted by the core."""
        self._apply(actions)
        self._message = None
        return None

    def _output(self, gen, data):
        if not is_count(data.task) or (data.stream != "stdout" and data.stream != "stderr") or not is_text(data.text):
            return "output without task, stream or text"
        entry = self._task_entry(data.task)
        if entry is None or entry["gen"] != gen:
            return "output for a task this worker is not running"
        if is_count(data.dropped):
            # The worker reports what it cut as it goes, since a hung worker sends no result.
            entry["dropped"] = max(entry["dropped"], data.dropped)
        room = max(0, self._max_output - entry["kept"])
        text = data.text
        if text.length > room:
            entry["dropped"] += text.length - room
            text = text.slice(0, room)
        entry["kept"] += text.length
        entry[data.stream].append(text)
        return None

    # -- settling tasks -------------------------------------------------------------------

    def _task_entry(self, task_id):
        entry = self._tasks[str(task_id)]
        return None if missing(entry) else entry

    def _take_task(self, task_id):
        entry = self._task_entry(task_id)
        if entry is not None:
            del self._tasks[str(task_id)]
        return entry

    def _dropped_note(self, entry, reported):
        dropped = max(entry["dropped"], reported)
        if dropped > 0:
            entry["stderr"].append("\n[" + str(dropped) + " characters of output dropped: maxOutput is "
                                   + str(self._max_output) + " characters per task]\n")
        return dropped

    def _resolve(self, task_id):
        entry = self._take_task(task_id)
        data = self._message
        if entry is None or data is None:
            return
        reported = data.outputDropped if is_count(data.outputDropped) else 0
        dropped = self._dropped_note(entry, reported)
        value = None if missing(data.value) else data.value
        entry["resolve"]({
            "value": value, "stdout": "".join(entry["stdout"]), "stderr": "".join(entry["stderr"]),
            "outputDropped": dropped, "generation": entry["gen"],
        })

    def _reject(self, task_id, kind, message, gen):
        entry = self._take_task(task_id)
        if entry is None:
            return
        error = __new__(Error(message))
        error.kind = kind
        error.code = entry["code"]
        error.generation = gen
        data = self._message
        if kind == protocol.PYTHON or kind == protocol.INTERRUPTED or kind == protocol.OOM:
            if data is not None and data["type"] == protocol.ERROR:
                error.pythonType = data.pythonType
                error.traceback = data.traceback if is_text(data.traceback) else ""
        reported = 0
        if data is not None and is_count(data.outputDropped):
            reported = data.outputDropped
        error.outputDropped = self._dropped_note(entry, reported)
        error.stdout = "".join(entry["stdout"])
        error.stderr = "".join(entry["stderr"])
        entry["reject"](error)

    def _settle_waiters(self):
        if len(self._waiters) == 0:
            return
        state = self._core.state()
        if state == core.READY or state == core.BUSY:
            waiters = self._waiters
            self._waiters = []
            for waiter in waiters:
                waiter[0](None)
            return
        if state == core.FAILED or state == core.STOPPED:
            error = __new__(Error("no worker is ready: the supervisor is " + state))
            error.kind = protocol.STOPPED if state == core.STOPPED else core.NO_WORKER
            waiters = self._waiters
            self._waiters = []
            for waiter in waiters:
                waiter[1](error)


class Supervisor(_Supervised):
    """Supervise one Pyodide worker: `new Supervisor({pingInterval: 2000, ...})`."""

    def __init__(self, options):
        _Supervised.__init__(self, options, False)


class Pool(_Supervised):
    """Supervise `size` Pyodide workers that share one task queue."""

    def __init__(self, options):
        _Supervised.__init__(self, options, True)
