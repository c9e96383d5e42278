"""Message types between the page and the worker, in one place.

Every message is a plain object with a string `type`. Requests carry the worker's
generation; replies repeat it, so the page can drop what an older worker still sends.
This module is shared by the transpiled manager and by the responder inside Pyodide,
so it contains only constants.
"""

# Page to worker.
INIT = "init"          # gen, indexURL, interruptBuffer, progressBuffer, setupCode, maxOutput
PING = "ping"          # seq, nonce
RUN = "run"            # task, code
CANCEL = "cancel"      # task: cancel it if it is awaiting
ECHO = "echo"          # seq: echoed by the worker's JavaScript, for benchmarks only

# Worker to page.
READY = "ready"        # gen, interrupt (bool), progress (bool)
PONG = "pong"          # gen, seq, nonce
OUTPUT = "output"      # gen, task, stream ("stdout" or "stderr"), text, dropped (so far)
RESULT = "result"      # gen, task, value, outputDropped
ERROR = "error"        # gen, task, pythonType, message, traceback, outputDropped
FAILED = "failed"      # gen, kind (a failure kind), message, url, status

# Failure kinds, the values of a `failure` event's `kind`.
HANG = "hang"
TIMEOUT = "timeout"
CRASH = "crash"
FATAL = "fatal"
OOM = "oom"
LOAD = "load"

# Kinds a `run()` rejection can carry besides the failure kinds.
PYTHON = "python"
INTERRUPTED = "interrupted"
STOPPED = "stopped"

# Limits the page applies to what a worker sends (characters of text).
MAX_TEXT_FIELD = 64 * 1024          # message, traceback, pythonType, url
