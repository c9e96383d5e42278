// The pattern's main-thread heartbeat, written from its description for the benchmark:
// a setInterval callback terminates the worker once Date.now() is more than pongTimeout
// past the last pong, then posts {type: "PING"}. Each call returns its own instance, so
// the benchmark can start a fresh one for every round.
//
// One change from the pattern: the interval starts when the worker reports that Pyodide
// has loaded. Started at once, as published, it condemns every worker whose load takes
// longer than pongTimeout (1500 ms in the benchmark), before any task runs.

export function startSeed({ pingInterval, pongTimeout }) {
  const record = {
    createdAt: performance.now(), loadedAt: null, pongs: 0, lastPongAt: null,
    submittedAt: null, terminatedAt: null, silentMs: null, terminations: 0,
  };
  const worker = new Worker(new URL("./seed_worker.mjs", import.meta.url), { type: "module" });
  let lastPong = Date.now();
  let timer = null;

  function tick() {
    const silent = Date.now() - lastPong;
    if (silent > pongTimeout) {
      console.error("seed: the worker is unresponsive, no pong for", silent, "ms");
      worker.terminate();
      record.terminations += 1;
      if (record.terminatedAt === null) {
        record.terminatedAt = performance.now();
        record.silentMs = silent;
      }
    }
    worker.postMessage({ type: "PING" });
  }

  worker.onmessage = (event) => {
    if (event.data.type === "PONG") {
      lastPong = Date.now();
      record.pongs += 1;
      record.lastPongAt = performance.now();
    } else if (event.data.type === "LOADED" && timer === null) {
      record.loadedAt = performance.now();
      lastPong = Date.now();
      timer = setInterval(tick, pingInterval);
    }
  };

  return {
    record,
    run(code) {
      record.submittedAt = performance.now();
      worker.postMessage({ type: "RUN", code });
    },
    stop() {
      clearInterval(timer);
      worker.terminate();
    },
  };
}
