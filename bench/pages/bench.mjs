// Benchmark page: builds named supervisors, pools, raw workers and instances of the
// pattern's heartbeat on request, and times them with the page's clock. Each measurement
// is one async function that bench/run.py calls with page.evaluate; every wait in it has
// a deadline, so a call always returns or throws.
//
// ?manager=URL loads another build of the manager from this origin (default:
// ../../build/manager.js).
import { startSeed } from "./seed.mjs";

const query = new URLSearchParams(location.search);
const managerUrl = new URL(query.get("manager") || "../../build/manager.js", import.meta.url).href;

const targets = {};     // name -> { target, events }
const outcomes = {};    // task id -> outcome, as tests/pages/harness.mjs records them
const settled = {};     // task id -> promise of the outcome
let nextTask = 0;
let manager = null;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Poll test() every stepMs until it returns true; throw once timeoutMs has passed.
async function until(test, timeoutMs, description, stepMs = 2) {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(stepMs);
  }
}

function entry(name) {
  const found = targets[name];
  if (found === undefined) throw new Error(`no supervisor named ${name}`);
  return found;
}

function make(name, kind, options) {
  if (targets[name] !== undefined) targets[name].target.stop();
  const target = kind === "pool" ? new manager.Pool(options) : new manager.Supervisor(options);
  const created = { target, events: [] };
  for (const type of ["statechange", "failure"]) {
    target.addEventListener(type, (event) => created.events.push({ type, at: performance.now(), detail: event.detail }));
  }
  targets[name] = created;
}

function stop(name) {
  entry(name).target.stop();
  delete targets[name];
}

function stats(name) {
  return entry(name).target.stats();
}

function submit(name, code, options) {
  const id = ++nextTask;
  const submittedAt = performance.now();
  outcomes[id] = { status: "pending", submittedAt };
  settled[id] = entry(name).target.run(code, options).then(
    (result) => {
      outcomes[id] = { status: "resolved", submittedAt, at: performance.now(), value: result.value, generation: result.generation };
      return outcomes[id];
    },
    (error) => {
      outcomes[id] = {
        status: "rejected", submittedAt, at: performance.now(), kind: error.kind,
        message: error.message, pythonType: error.pythonType, generation: error.generation,
      };
      return outcomes[id];
    },
  );
  return id;
}

// Settle like the promise, or reject once timeoutMs has passed.
function withTimeout(promise, timeoutMs, description) {
  let timer = null;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function outcome(id, timeoutMs) {
  return withTimeout(settled[id], timeoutMs, `task ${id} to settle`);
}

// Resolve with the next event of this type on the named supervisor.
function nextEvent(name, type, timeoutMs) {
  const events = entry(name).events;
  const seen = events.length;
  return until(() => events.slice(seen).some((event) => event.type === type), timeoutMs, `a ${type} event`, 1)
    .then(() => events.slice(seen).find((event) => event.type === type));
}

async function waitReady(name, timeoutMs = 60000) {
  const target = entry(name).target;
  await until(() => target.state === "ready", timeoutMs, `${name} to be ready`, 10);
}

async function waitSpare(name, timeoutMs = 60000) {
  await until(() => stats(name).members[0].spareReady, timeoutMs, `the spare of ${name} to load`, 10);
}

// Resolve with the page time at which the next pong was seen (polled every 1 to 4 ms).
async function waitPong(name, timeoutMs = 10000) {
  const before = stats(name).pongsReceived;
  await until(() => stats(name).pongsReceived > before, timeoutMs, `a pong on ${name}`, 1);
  return performance.now();
}

// One hang: wait for a pong, then waitMs, then submit the code; return the timings.
async function hangRound(name, code, waitMs) {
  await waitReady(name);
  const pongAt = await waitPong(name);
  await sleep(waitMs);
  const failed = nextEvent(name, "failure", 30000);
  const id = submit(name, code);
  const failure = await failed;
  const submittedAt = outcomes[id].submittedAt;
  return {
    phaseMs: submittedAt - pongAt, submittedAt, verdictAt: failure.detail.verdictAt,
    failureAt: failure.at, kind: failure.detail.kind, recovered: failure.detail.recovered,
  };
}

// One fault reported by the worker itself: submit the code, wait for the failure.
async function faultRound(name, code, options) {
  await waitReady(name);
  const failed = nextEvent(name, "failure", 70000);
  const id = submit(name, code, options);
  const failure = await failed;
  const task = await outcome(id, 10000);
  return {
    submittedAt: outcomes[id].submittedAt, verdictAt: failure.detail.verdictAt, failureAt: failure.at,
    kind: failure.detail.kind, stuck: failure.detail.stuck, recovered: failure.detail.recovered, taskKind: task.kind,
  };
}

// A hang with the next task queued right behind it: time from the verdict to its result.
async function recoveryRound(name, hangCode, nextCode) {
  await waitReady(name);
  await waitPong(name);
  const failed = nextEvent(name, "failure", 30000);
  const hung = submit(name, hangCode);
  const next = submit(name, nextCode);
  const failure = await failed;
  const result = await outcome(next, 70000);
  const hangOutcome = await outcome(hung, 10000);
  return {
    verdictAt: failure.detail.verdictAt, failureAt: failure.at, resultAt: result.at,
    recovered: failure.detail.recovered, stateLost: failure.detail.stateLost,
    value: result.value, status: result.status, hangKind: hangOutcome.kind,
  };
}

// Submit count copies of the code at once and wait for all; return the elapsed ms.
async function batch(name, code, count, options, timeoutMs = 120000) {
  const started = performance.now();
  const ids = [];
  for (let i = 0; i < count; i++) ids.push(submit(name, code, options));
  const results = await Promise.all(ids.map((id) => outcome(id, timeoutMs)));
  const elapsed = performance.now() - started;
  return { elapsedMs: elapsed, values: [...new Set(results.map((result) => JSON.stringify(result.value)))],
    rejected: results.filter((result) => result.status !== "resolved").length };
}

// Run batches of the code on each named supervisor in turn, rotating the order every
// round, and return each batch's elapsed ms per round.
async function rotate(names, code, expected, rounds, size) {
  const table = [];
  for (let round = 0; round < rounds; round++) {
    const shift = round % names.length;
    const row = {};
    for (const name of names.slice(shift).concat(names.slice(0, shift))) {
      const done = await batch(name, code, size, undefined);
      if (done.rejected !== 0 || done.values.length !== 1 || done.values[0] !== expected) {
        throw new Error(`${name}: expected every task to return ${expected}, got ${JSON.stringify(done)}`);
      }
      row[name] = done.elapsedMs;
    }
    table.push(row);
  }
  return table;
}

// Run the code once and return its value (the code measures itself).
async function value(name, code, options, timeoutMs = 60000) {
  const result = await outcome(submit(name, code, options), timeoutMs);
  if (result.status !== "resolved") throw new Error(`task failed: ${result.kind}: ${result.message}`);
  return result.value;
}

// Sample stats().lastRttMs once per new pong.
async function sampleRtt(name, count, timeoutMs = 60000) {
  const samples = [];
  const deadline = performance.now() + timeoutMs;
  let seen = stats(name).pongsReceived;
  while (samples.length < count && performance.now() < deadline) {
    await sleep(5);
    const now = stats(name);
    if (now.pongsReceived > seen) {
      seen = now.pongsReceived;
      samples.push(now.lastRttMs);
    }
  }
  return samples;
}

// Start web/worker.mjs without a supervisor, with the supervisor's init message.
// send(message, replyType, key) posts a message and resolves with the page time of the
// first reply of that type whose `key` field matches the message's.
async function startRawWorker() {
  const base = new URL("../../", import.meta.url);
  const worker = new Worker(new URL("web/worker.mjs", base), { type: "module", name: "bench-raw" });
  let ready = false;
  let waiter = null;    // { type, key, value, resolve }
  worker.onmessage = (event) => {
    const data = event.data;
    if (data.type === "ready") ready = true;
    if (waiter !== null && data.type === waiter.type && data[waiter.key] === waiter.value) {
      const at = performance.now();
      const { resolve } = waiter;
      waiter = null;
      resolve(at);
    }
  };
  worker.postMessage({
    type: "init", gen: 1, indexURL: new URL("web/pyodide/", base).href,
    protocolUrl: new URL("build/protocol.py", base).href, responderUrl: new URL("build/responder.py", base).href,
    maxOutput: 1000,
  });
  try {
    await until(() => ready, 60000, "the raw worker to report ready", 10);
  } catch (error) {
    worker.terminate();
    throw error;
  }
  const send = (message, replyType, key) => {
    const answered = new Promise((resolve) => { waiter = { type: replyType, key, value: message[key], resolve }; });
    worker.postMessage(message);
    return withTimeout(answered, 5000, `a ${replyType} for ${key} ${message[key]}`);
  };
  return { worker, send };
}

// Time round trips on a raw worker, alternating which goes first: ping to pong (the
// Python responder replies) and echo to echo (the worker's JavaScript replies).
async function rawRoundTrips(count) {
  const { worker, send } = await startRawWorker();
  const timed = async (message, reply) => {
    const started = performance.now();
    return (await send(message, reply, "seq")) - started;
  };
  try {
    const ping = [];
    const echo = [];
    for (let i = 1; i <= count; i++) {
      const pingMessage = { type: "ping", seq: i, nonce: 1000 + i, gen: 1 };
      const echoMessage = { type: "echo", seq: i };
      if (i % 2 === 0) {
        ping.push(await timed(pingMessage, "pong"));
        echo.push(await timed(echoMessage, "echo"));
      } else {
        echo.push(await timed(echoMessage, "echo"));
        ping.push(await timed(pingMessage, "pong"));
      }
    }
    return { ping, echo };
  } finally {
    worker.terminate();
  }
}

// Run batches of small tasks on one raw worker, one task at a time as a supervisor sends
// them, while a timer posts pings at each mode's interval (null: no pings). The modes take
// turns, so every mode runs on the same worker. Returns each batch's elapsed ms per round.
async function rawThroughput(modes, code, rounds, size) {
  const { worker, send } = await startRawWorker();
  const labels = Object.keys(modes);
  let task = 0;
  let seq = 0;
  try {
    const table = [];
    for (let round = 0; round < rounds; round++) {
      const shift = round % labels.length;
      const row = {};
      for (const label of labels.slice(shift).concat(labels.slice(0, shift))) {
        const interval = modes[label];
        const pinger = interval === null ? null : setInterval(() => {
          seq += 1;
          worker.postMessage({ type: "ping", seq, nonce: seq, gen: 1 });
        }, interval);
        const started = performance.now();
        for (let i = 0; i < size; i++) {
          task += 1;
          await send({ type: "run", task, code, gen: 1 }, "result", "task");
        }
        row[label] = performance.now() - started;
        if (pinger !== null) clearInterval(pinger);
      }
      table.push(row);
    }
    return table;
  } finally {
    worker.terminate();
  }
}

// The pattern's heartbeat: one instance per round, since its verdict terminates the worker.
const seeds = {};

function seedStart(name, options) {
  if (seeds[name] !== undefined) seeds[name].stop();
  seeds[name] = startSeed(options);
}

async function seedReady(name, timeoutMs = 60000) {
  const record = seeds[name].record;
  await until(() => record.loadedAt !== null && record.pongs >= 2, timeoutMs, "the pattern's worker to load", 10);
}

async function seedHangRound(name, code, waitMs) {
  const seed = seeds[name];
  const record = seed.record;
  const before = record.pongs;
  await until(() => record.pongs > before, 10000, "a pong of the pattern's worker", 1);
  const pongAt = performance.now();
  await sleep(waitMs);
  seed.run(code);
  await until(() => record.terminatedAt !== null, 30000, "the pattern's verdict", 1);
  seed.stop();
  delete seeds[name];
  return {
    phaseMs: record.submittedAt - pongAt, submittedAt: record.submittedAt,
    verdictAt: record.terminatedAt, silentMs: record.silentMs,
  };
}

// Submit the code to the pattern's worker and return its record after watchMs.
async function seedWatch(name, code, watchMs) {
  const seed = seeds[name];
  seed.run(code);
  await sleep(watchMs);
  const record = { ...seed.record };
  seed.stop();
  delete seeds[name];
  return record;
}

window.bench = {
  make, stop, stats, submit, outcome, waitReady, waitSpare, waitPong, hangRound, faultRound,
  recoveryRound, batch, rotate, value, sampleRtt, rawRoundTrips, rawThroughput, seedStart, seedReady, seedHangRound,
  seedWatch, events: (name) => entry(name).events, managerUrl,
};

try {
  // Only a module from this server: the page runs what it imports.
  if (new URL(managerUrl).origin !== location.origin) throw new Error("the module must come from " + location.origin);
  manager = await import(managerUrl);
  document.getElementById("status").textContent = "ready";
} catch (error) {
  window.benchError = `could not import ${managerUrl}: ${error.message || error}`;
  document.getElementById("status").textContent = window.benchError;
}
