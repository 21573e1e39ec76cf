// CI slice of `npm run fuzz`: every target in fuzz/targets gets a share of 20 seconds of random
// and mutated inputs (seeded differently on each run, printed for replay). A crash or a hang fails
// with the input as hex.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzTarget, loadTargets } from "../../fuzz/run.js";

const TOTAL_MS = 20_000;
const targets = await loadTargets();
const seed = Number(process.env.MOQ_FUZZ_SEED ?? (Date.now() & 0x7fffffff));

test("fuzz targets are discovered in fuzz/targets (moq-lite per version, the TOML loader, QMux, and others')", () => {
  const names = targets.map((t) => t.name);
  for (const v of ["01", "02", "03", "04", "05"]) assert.ok(names.includes(`moq-lite-${v}/messages`), names.join(", "));
  assert.ok(names.includes("config/toml"));
  assert.ok(names.includes("qmux/session"), "QMux over WebSocket, driven through the relay's session");
});

for (const t of targets) {
  test(`fuzz ${t.name}: no crash, no hang (seed ${seed})`, async () => {
    const r = await fuzzTarget(t, { iterations: Number.MAX_SAFE_INTEGER, timeMs: TOTAL_MS / targets.length, seed });
    assert.ok(r.inputs > t.seeds.length, `only ${r.inputs} inputs ran`);
    // Full mode's million inputs must be practical: the TOML target once ran ~130/s (a file
    // written and read per input); in memory it runs thousands per second even on a busy machine.
    if (t.name === "config/toml") assert.ok(r.inputs / (r.ms / 1000) > 1000, `config/toml ran ${((r.inputs * 1000) / r.ms).toFixed(0)} inputs/s`);
  });
}
