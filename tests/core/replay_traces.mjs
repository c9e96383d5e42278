// Replays event traces through the transpiled core for the differential test.
// Usage: node replay_traces.mjs BUILD_REPLAY_DIR < traces.json > records.json
// Reads a JSON list of traces and writes the JSON list of their records, in the same order.
// A trace that throws a JavaScript error gets the record ["node error", message] instead.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const buildDir = process.argv[2];
if (!buildDir) {
  process.stderr.write("usage: node replay_traces.mjs BUILD_REPLAY_DIR < traces.json\n");
  process.exit(2);
}

const { replay } = await import(pathToFileURL(join(resolve(buildDir), "replay.js")).href);
const traces = JSON.parse(readFileSync(0, "utf8"));

const results = traces.map((trace) => {
  try {
    return replay(trace);
  } catch (error) {
    return [["node error", String(error && error.stack ? error.stack : error)]];
  }
});
process.stdout.write(JSON.stringify(results));
