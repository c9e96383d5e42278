"""A static file server for the repository, bound to 127.0.0.1, with the page headers.

Paths choose the headers, so one server covers every page set-up the tests need:
    /...           cross-origin isolated (COOP same-origin, COEP require-corp)
    /plain/...     the same files with no isolation headers
    /csp/...       isolated, plus a strict Content-Security-Policy
    /delay/MS/...  isolated, and .wasm files answered MS milliseconds late
The prefix is stripped before the file is looked up, so relative URLs keep the mode.

Run `python -m tests.support.server --port 8000` to serve by hand (`make serve`).
"""

import argparse
import functools
import http.server
import pathlib
import re
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# The page needs no eval; the worker needs wasm-unsafe-eval to compile Pyodide.
PAGE_CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"
WORKER_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'"

DELAY_PREFIX = re.compile(r"^/delay/(\d{1,5})/")

MIME_TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".py": "text/x-python",
    ".zip": "application/zip",
    ".json": "application/json",
}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def translate_path(self, path):
        self.mode = "isolated"
        for prefix, mode in (("/plain/", "plain"), ("/csp/", "csp")):
            if path.startswith(prefix):
                self.mode = mode
                path = path[len(prefix) - 1:]
                break
        match = DELAY_PREFIX.match(path)
        if match:
            path = path[match.end() - 1:]
            if path.endswith(".wasm"):
                # A slow network: hold the response back before its first byte.
                time.sleep(int(match.group(1)) / 1000)
        return super().translate_path(path)

    def end_headers(self):
        mode = getattr(self, "mode", "isolated")
        if mode in ("isolated", "csp"):
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        if mode == "csp":
            is_worker = self.path.split("?")[0].endswith(".mjs") or "pyodide" in self.path
            self.send_header("Content-Security-Policy", WORKER_CSP if is_worker else PAGE_CSP)
        self.send_header("Cache-Control", "max-age=3600" if "/pyodide/" in self.path else "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A terminated worker drops its downloads midway; that is expected, not an error.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class Server:
    """A threaded server on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self, port=0):
        handler = functools.partial(Handler, directory=str(ROOT))
        self.httpd = QuietServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self):
        return "http://127.0.0.1:" + str(self.httpd.server_address[1])

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    parser = argparse.ArgumentParser(description="Serve the repository on 127.0.0.1 with isolation headers.")
    parser.add_argument("--port", type=int, default=8000, help="TCP port on 127.0.0.1 (default 8000)")
    args = parser.parse_args()
    with Server(args.port) as server:
        print("Example page: " + server.origin + "/web/examples/loading/worker_heartbeat.html")
        print("Without isolation: " + server.origin + "/plain/web/examples/loading/worker_heartbeat.html")
        print("Press Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
