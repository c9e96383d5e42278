// Test harness: builds supervisors on request and records every event and task outcome
// with the page's own clock, so the Python tests can poll for conditions and timings.
import { Supervisor, Pool } from "../../build/manager.js";

const events = [];
const outcomes = {};
let nextId = 0;

function record(target) {
  for (const type of ["statechange", "failure"]) {
    target.addEventListener(type, (event) => {
      events.push({ type, at: performance.now(), detail: event.detail });
    });
  }
}

function make(kind, options) {
  const target = kind === "pool" ? new Pool(options) : new Supervisor(options);
  record(target);
  window.sup = target;
  return target;
}

// Submit code and keep its outcome; return the submission's id at once.
function submit(code, options) {
  const id = ++nextId;
  const submittedAt = performance.now();
  outcomes[id] = { status: "pending", submittedAt };
  window.sup.run(code, options).then(
    (result) => {
      outcomes[id] = { status: "resolved", submittedAt, at: performance.now(), ...result };
    },
    (error) => {
      outcomes[id] = {
        status: "rejected", submittedAt, at: performance.now(), name: error.name,
        message: error.message, kind: error.kind, code: error.code, generation: error.generation,
        pythonType: error.pythonType, traceback: error.traceback, stdout: error.stdout,
        stderr: error.stderr, outputDropped: error.outputDropped,
      };
    },
  );
  return id;
}

function failures() {
  return events.filter((event) => event.type === "failure");
}

function states() {
  return events.filter((event) => event.type === "statechange").map((event) => event.detail.state);
}

// Code under test can post its label on this channel from inside a loop; a worker that was
// really terminated falls silent, which page.workers does not reliably show.
const lastHeard = {};
new BroadcastChannel("liveness").onmessage = (event) => {
  lastHeard[String(event.data)] = performance.now();
};

window.harness = { make, submit, outcomes, events, failures, states, lastHeard, Supervisor, Pool };
document.getElementById("status").textContent = "ready";
