// Worker bootstrap: loads Pyodide from the same origin and hands each message to the
// Python responder. JavaScript here only loads, reports load failures and watches for
// Pyodide's fatal states; once Pyodide has failed, nothing answers pings any more.

let gen = 0;
let responder = null;
let dead = false;
let beacon = null;
let interruptView = null;

function post(message) {
  message.gen = gen;
  self.postMessage(message);
}

function fail(kind, message) {
  if (dead) return;
  dead = true;
  post({ type: "failed", kind, message: String(message).slice(0, 4000) });
}

// Pyodide reports memory exhaustion in several forms, depending on where it struck.
function classify(error) {
  const text = String((error && (error.message || error)) || "");
  if (/out of memory|Cannot enlarge memory|OOM|Aborted\(OOM\)|could not allocate|MemoryError/i.test(text)) {
    return "oom";
  }
  return "fatal";
}

// Report an HTTP failure under indexURL at once: loadPyodide can stay pending on one.
function watchFetch(indexURL) {
  const original = self.fetch.bind(self);
  self.fetch = async (resource, init) => {
    const url = String(resource && resource.url ? resource.url : resource);
    let response;
    try {
      response = await original(resource, init);
    } catch (error) {
      if (url.startsWith(indexURL)) fail("load", `fetching ${url} failed: ${error.message}`);
      throw error;
    }
    if (!response.ok && url.startsWith(indexURL)) {
      fail("load", `${url} answered HTTP ${response.status}`);
    }
    return response;
  };
}

async function describeImportFailure(url, error) {
  try {
    const response = await fetch(url, { method: "GET", cache: "no-store" });
    if (!response.ok) return `${url} answered HTTP ${response.status}`;
  } catch (probeError) {
    return `could not fetch ${url}: ${probeError.message}`;
  }
  return `could not import ${url}: ${error.message}`;
}

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return response.text();
}

// The progress beacon: Pyodide reads element 0 of the signal buffer every few dozen
// bytecodes while Python runs, so a getter on that element can count the reads into
// shared memory. Pyodide reads the element and then writes 0 in two steps; a SIGINT the
// page writes between them would be lost, so the getter takes and clears the value in
// one atomic exchange and the setter ignores the 0.
function beaconBuffer(interrupt, counter) {
  const view = {};
  Object.defineProperty(view, 0, {
    get() {
      counter[0] = (counter[0] + 1) | 0;
      return Atomics.exchange(interrupt, 0, 0);
    },
    set(value) {
      if (value !== 0) Atomics.store(interrupt, 0, value);
    },
  });
  return view;
}

async function start(init) {
  gen = init.gen;
  const indexURL = new URL(init.indexURL, self.location.href).href;
  watchFetch(indexURL);

  const moduleUrl = indexURL + "pyodide.mjs";
  let loadPyodide;
  try {
    ({ loadPyodide } = await import(moduleUrl));
  } catch (error) {
    fail("load", await describeImportFailure(moduleUrl, error));
    return;
  }

  let pyodide;
  try {
    pyodide = await loadPyodide({ indexURL });
  } catch (error) {
    const text = String(error.message || error);
    const imported = /imported module: (\S+)/.exec(text);
    fail("load", imported ? await describeImportFailure(imported[1], error) : `loadPyodide failed: ${text}`);
    return;
  }
  if (dead) return;

  // Pyodide 314 reports os._exit() through on_fatal, as "Program terminated with exit(N)".
  pyodide._api.on_fatal = (error) => {
    const text = String((error && error.message) || error);
    const exited = /terminated with exit\((-?\d+)\)/.exec(text);
    fail(classify(error), exited ? `Python exited with status ${exited[1]}` : `Pyodide fatal error: ${text}`);
  };
  pyodide._module.onExit = (code) => fail("fatal", `Python exited with status ${code}`);

  let interruptible = false;
  if (init.interruptBuffer) {
    const interrupt = new Uint8Array(init.interruptBuffer);
    interruptView = interrupt;
    if (init.progressBuffer) {
      beacon = new Int32Array(init.progressBuffer);
      pyodide.setInterruptBuffer(beaconBuffer(interrupt, beacon));
    } else {
      pyodide.setInterruptBuffer(interrupt);
    }
    interruptible = true;
  }

  try {
    const [protocolSource, responderSource] = await Promise.all([
      fetchText(init.protocolUrl),
      fetchText(init.responderUrl),
    ]);
    pyodide.FS.writeFile("/home/pyodide/protocol.py", protocolSource);
    pyodide.FS.writeFile("/home/pyodide/responder.py", responderSource);
    const module = pyodide.pyimport("responder");
    responder = module.install(gen, init.maxOutput);
    await responder.setup(init.setupCode || "");
  } catch (error) {
    fail("load", `the Python responder failed to start: ${error.message || error}`);
    return;
  }
  if (dead) return;
  post({ type: "ready", interrupt: interruptible, progress: beacon !== null });
}

self.addEventListener("message", (event) => {
  const data = event.data;
  if (dead) return;
  if (responder === null) {
    if (data && data.type === "init" && gen === 0) {
      start(data).catch((error) => fail("load", error.message || error));
    }
    return;
  }
  // A bare JavaScript round trip, the baseline the benchmark sets the pong beside.
  if (data && data.type === "echo") {
    post({ type: "echo", seq: data.seq });
    return;
  }
  // A SIGINT that arrived after its task had finished must not hit the next one.
  if (data && data.type === "run" && interruptView !== null) Atomics.store(interruptView, 0, 0);
  try {
    responder.handle(data);
  } catch (error) {
    if (error && error.pyodide_fatal_error) fail(classify(error), error.message);
    else throw error;
  }
});
