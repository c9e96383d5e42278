// The example page: one supervised Pyodide worker with a heartbeat, and a pool view.
// Everything that comes from Python is shown with textContent, never parsed as HTML.
// Query options: ?pingInterval=500&pongTimeout=1500&hotSpare=1&progress=1
import { Supervisor, Pool } from "../../../build/manager.js";

const $ = (id) => document.getElementById(id);
const startedAt = performance.now();
const query = new URLSearchParams(location.search);

function numberOption(name, fallback) {
  const value = query.get(name);
  return value === null ? fallback : Number(value);
}

const options = {
  pingInterval: numberOption("pingInterval", 2000),
  pongTimeout: numberOption("pongTimeout", 5000),
  hotSpare: query.get("hotSpare") === "1",
  progress: query.get("progress") === "1",
};
if (query.has("lateTolerance")) options.lateTolerance = numberOption("lateTolerance", 1000);

// The log is also the demo's timeline: each line carries ms since the page loaded.
function log(text) {
  const item = document.createElement("li");
  item.textContent = `${Math.round(performance.now() - startedAt)} ms  ${text}`;
  item.dataset.at = String(performance.now());
  item.dataset.message = text;
  $("log").append(item);
}

function showOutput(text) {
  $("output").textContent = text;
}

// Keep what the person typed across restarts and reloads of this tab.
const draft = sessionStorage.getItem("worker_heartbeat.code");
if (draft !== null) $("code").value = draft;
$("code").addEventListener("input", () => sessionStorage.setItem("worker_heartbeat.code", $("code").value));

$("isolation").textContent = crossOriginIsolated
  ? "isolated: interrupts keep Python state"
  : "not isolated: a hang restarts the worker";

const sup = new Supervisor(options);
window.pageSupervisor = sup;
let busySince = null;
let readySeen = false;
let verdictAt = null;

sup.addEventListener("statechange", (event) => {
  const { state, generation } = event.detail;
  $("state").textContent = state;
  $("light").className = `light ${state}`;
  $("generation").textContent = String(generation);
  busySince = state === "busy" ? performance.now() : null;
  if (state === "unresponsive") verdictAt = performance.now();
  if (state === "ready" && !readySeen) {
    readySeen = true;
    log(`ready after ${Math.round(performance.now() - startedAt)} ms (generation ${generation})`);
  } else if (state === "ready" && verdictAt !== null) {
    log(`ready again ${Math.round(performance.now() - verdictAt)} ms after the verdict (generation ${generation})`);
    verdictAt = null;
  } else {
    log(`state ${state} (generation ${generation})`);
  }
});

sup.addEventListener("failure", (event) => {
  const detail = event.detail;
  const recovery = {
    interrupt: "The running code was interrupted; your variables and imports are kept.",
    spare: "A standby worker took over; Python state was lost, your code is still in the box.",
    restart: "The worker was restarted; Python state was lost, your code is still in the box.",
  }[detail.recovered] || "The worker could not be recovered. Press Restart to try again.";
  $("banner-text").textContent = `${detail.kind}: ${detail.message}. ${recovery}`;
  $("banner").hidden = false;
  $("state-note").textContent = detail.stateLost ? "Python state was lost in the last recovery." : "Python state was kept in the last recovery.";
  const since = detail.verdictAt ? ` verdict ${Math.round(performance.now() - detail.verdictAt)} ms ago` : "";
  log(`failure ${detail.kind}, recovered by ${detail.recovered ?? "nothing"}${since}: ${detail.message}`);
});

setInterval(() => {
  const stats = sup.stats();
  $("rtt").textContent = stats.lastRttMs === null ? "–" : stats.lastRttMs.toFixed(1);
  $("elapsed").textContent = busySince === null ? "" : `for ${((performance.now() - busySince) / 1000).toFixed(1)} s`;
  const moving = stats.progressRate !== null && stats.progressRate > 0;
  $("activity").className = moving ? "moving" : "";
  $("activity").textContent = stats.progressRate === null ? "" : moving ? `Python running (${stats.progressRate} checks/s)` : "no Python progress";
}, 200);

async function runCode(code) {
  const timeout = Number($("timeout").value);
  const submitted = performance.now();
  log(`run submitted (${code.length} characters)`);
  try {
    const result = await sup.run(code, timeout > 0 ? { timeout } : undefined);
    showOutput(result.stdout + result.stderr + (result.value === null ? "" : `\n=> ${JSON.stringify(result.value)}`));
    log(`code ran in ${Math.round(performance.now() - submitted)} ms, value ${JSON.stringify(result.value)}`);
  } catch (error) {
    const detail = error.traceback || error.message;
    showOutput(`${error.stdout || ""}${error.stderr || ""}\n[${error.kind}] ${detail}`);
    log(`run rejected with kind ${error.kind}`);
  }
}

$("run").addEventListener("click", () => runCode($("code").value));
$("hang").addEventListener("click", () => runCode("while True:\n    pass"));
$("interrupt").addEventListener("click", () => {
  log(sup.interrupt() ? "interrupt sent" : "no interruptible task is running");
});
$("restart").addEventListener("click", () => {
  $("banner").hidden = true;
  log("restart requested");
  sup.restart();
});
$("dismiss").addEventListener("click", () => { $("banner").hidden = true; });

// --- the pool view ---------------------------------------------------------------------

let pool = null;
const poolCounts = { done: 0, failed: 0 };

function renderPool() {
  if (pool === null) return;
  const stats = pool.stats();
  const list = $("pool-members");
  list.replaceChildren(...stats.members.map((member) => {
    const item = document.createElement("li");
    const light = document.createElement("span");
    light.className = `light ${member.state}`;
    const label = document.createElement("span");
    label.textContent = `#${member.member} ${member.state} g${member.generation}`;
    item.append(light, label);
    return item;
  }));
  $("pool-queue").textContent = String(stats.queueLength);
  $("pool-done").textContent = String(poolCounts.done);
  $("pool-failed").textContent = String(poolCounts.failed);
}

$("pool-start").addEventListener("click", () => {
  if (pool !== null) return;
  pool = new Pool({ ...options, hotSpare: false, size: 3 });
  window.pagePool = pool;
  pool.addEventListener("statechange", renderPool);
  pool.addEventListener("failure", (event) => {
    log(`pool member ${event.detail.member}: ${event.detail.kind}, recovered by ${event.detail.recovered ?? "nothing"}`);
    renderPool();
  });
  setInterval(renderPool, 250);
  for (const id of ["pool-burst", "pool-hang", "pool-stop"]) $(id).disabled = false;
  $("pool-start").disabled = true;
  log("pool of 3 starting");
});

function poolTask(code) {
  pool.run(code).then(
    () => { poolCounts.done += 1; renderPool(); },
    () => { poolCounts.failed += 1; renderPool(); },
  );
  renderPool();
}

$("pool-burst").addEventListener("click", () => {
  for (let i = 0; i < 12; i += 1) poolTask(`sum(k * k for k in range(300000)) + ${i}`);
});
$("pool-hang").addEventListener("click", () => poolTask("while True:\n    pass"));
$("pool-stop").addEventListener("click", () => {
  pool.stop();
  renderPool();
  for (const id of ["pool-burst", "pool-hang", "pool-stop"]) $(id).disabled = true;
});

log("page loaded; starting the worker");
