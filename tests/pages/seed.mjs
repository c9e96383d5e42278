// The pattern's main-thread heartbeat, rewritten from its description so the tests can
// set it beside the supervisor: every pingInterval a setInterval callback compares
// Date.now() with the time of the last pong, terminates the worker when the gap exceeds
// pongTimeout, and posts {type: "PING"}. What it did is recorded in window.seed.record
// with performance.now(), the clock the supervisor's events use.
//
// One change from the pattern: the clock starts when the worker reports that Pyodide
// has loaded, not when the worker is created. The published snippet starts at once, so it
// also condemns a worker that cannot reply before Pyodide has loaded whenever the load
// takes longer than pongTimeout. The tests here compare stalls, hidden pages and frozen
// pages, not startup.

// The callback keeps running after a verdict, as in the pattern, and terminates the
// worker again on every tick. Only the first MAX_KEPT ticks and verdicts are kept.
const MAX_KEPT = 5000;

function start({ pingInterval = 2000, pongTimeout = 5000 } = {}) {
  const record = {
    pingInterval, pongTimeout, createdAt: performance.now(), loadedAt: null,
    pingsSent: 0, pongsReceived: 0, lastPongAt: null, ticks: [],
    condemnedAt: null, silentMs: null, verdicts: 0, verdictTimes: [],
  };
  const worker = new Worker(new URL("./seed_worker.mjs", import.meta.url), { type: "module" });
  let lastPong = Date.now();
  let pongWaiters = [];

  function tick() {
    const at = performance.now();
    if (record.ticks.length < MAX_KEPT) record.ticks.push(at);
    const silent = Date.now() - lastPong;
    if (silent > pongTimeout) {
      console.error("pattern heartbeat: the worker is unresponsive, no pong for", silent, "ms");
      worker.terminate();
      record.verdicts += 1;
      if (record.verdictTimes.length < MAX_KEPT) record.verdictTimes.push(at);
      if (record.condemnedAt === null) {
        record.condemnedAt = at;
        record.silentMs = silent;
      }
    }
    worker.postMessage({ type: "PING" });
    record.pingsSent += 1;
  }

  worker.onmessage = (event) => {
    if (event.data.type === "PONG") {
      lastPong = Date.now();
      record.pongsReceived += 1;
      record.lastPongAt = performance.now();
      const waiters = pongWaiters;
      pongWaiters = [];
      for (const resolve of waiters) resolve(record.lastPongAt);
    } else if (event.data.type === "LOADED" && record.loadedAt === null) {
      record.loadedAt = performance.now();
      lastPong = Date.now();
      record.timer = setInterval(tick, pingInterval);
    }
  };

  window.seed.record = record;
  // A test aid, not part of the pattern: resolves with the time of the next pong.
  window.seed.nextPong = (timeoutMs = 10000) => new Promise((resolve, reject) => {
    pongWaiters.push(resolve);
    setTimeout(() => reject(new Error(`no pong within ${timeoutMs} ms`)), timeoutMs);
  });
  window.seed.stop = () => {
    clearInterval(record.timer);
    worker.terminate();
  };
  return record;
}

window.seed = { start, record: null, nextPong: null, stop: () => {} };
