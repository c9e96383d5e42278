// Runs a supervised worker under the server's strict /csp/ policy (script-src 'self', no
// inline script, no eval) and writes every outcome into the DOM for the test to read.
// After the run it breaks the policy on purpose, to show the policy is enforced.
import { Supervisor } from "../../build/manager.js";

const violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  violations.push({
    directive: event.effectiveDirective,
    blockedURI: event.blockedURI,
    sourceFile: event.sourceFile,
  });
});
window.cspViolations = violations;

const show = (id, value) => {
  document.getElementById(id).textContent = typeof value === "string" ? value : JSON.stringify(value);
};

// Both probes must be blocked: an eval from this module and an inline script element.
function breakThePolicy() {
  try {
    show("eval-attempt", `ran: ${eval("1 + 1")}`);
  } catch (error) {
    show("eval-attempt", `blocked: ${error.name}`);
  }
  const inline = document.createElement("script");
  inline.textContent = "window.inlineScriptRan = true;";
  document.body.append(inline);
}

async function main() {
  const sup = new Supervisor({ pingInterval: 500, pongTimeout: 1500, lateTolerance: 500 });
  window.sup = sup;
  await sup.whenReady();
  const { value } = await sup.run("1 + 1");
  show("result", value);
  show("violations-during-run", violations);
  sup.stop();

  breakThePolicy();
  // Violation events are queued as tasks: wait one task before reporting them.
  await new Promise((resolve) => setTimeout(resolve, 0));
  show("violations", violations);
  show("status", "done");
}

main().catch((error) => {
  show("status", `failed: ${error.kind || error.name}: ${error.message}`);
});
