// The pattern's worker for the benchmark: it loads Pyodide from this origin, and a Python
// message handler replies to {type: "PING"} with {type: "PONG"}. Two additions the pattern
// does not have: it posts {type: "LOADED"} once the handler is installed, and it runs
// {type: "RUN", code} with exec() inside the same handler, so a hang blocks it as it
// would block any worker that runs Python in its message handler.
import { loadPyodide } from "../../web/pyodide/pyodide.mjs";

const indexURL = new URL("../../web/pyodide/", import.meta.url).href;
const pyodide = await loadPyodide({ indexURL });

pyodide.runPython(`
import js
from pyodide.ffi import create_proxy, to_js


def on_message(event):
    kind = event.data.type
    if kind == "PING":
        js.postMessage(to_js({"type": "PONG"}, dict_converter=js.Object.fromEntries))
    elif kind == "RUN":
        exec(event.data.code, {"__name__": "__main__"})


js.addEventListener("message", create_proxy(on_message))
`);

self.postMessage({ type: "LOADED" });
