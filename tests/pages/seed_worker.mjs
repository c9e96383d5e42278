// The pattern's worker, as small as the tests allow: it loads Pyodide from this origin,
// then a Python message handler replies to every {type: "PING"} with {type: "PONG"}.
// It also posts {type: "LOADED"} once the handler is installed, which the pattern does not.
import { loadPyodide } from "../../web/pyodide/pyodide.mjs";

const indexURL = new URL("../../web/pyodide/", import.meta.url).href;
const pyodide = await loadPyodide({ indexURL });

pyodide.runPython(`
import js
from pyodide.ffi import create_proxy, to_js


def on_message(event):
    if event.data.type == "PING":
        js.postMessage(to_js({"type": "PONG"}, dict_converter=js.Object.fromEntries))


js.addEventListener("message", create_proxy(on_message))
`);

self.postMessage({ type: "LOADED" });
