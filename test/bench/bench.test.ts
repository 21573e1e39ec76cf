// `npm run bench --quick` as a smoke test: the real relay binary, a publisher and viewers of each
// transport in other processes; the report must carry figures for every row. No timing asserts:
// speed is for the benchmark itself, on a machine whose load we do not control.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScript, ROOT } from "../util/spawn.js";

test("the quick benchmark reports delivered egress, relay CPU, memory and latency for WebSocket, raw QUIC and WebTransport", { timeout: 180_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), "moq-bench-"));
  try {
    const r = await runScript("--import", ["tsx", `${ROOT}bench/index.ts`, "--quick", "--json", "--out", out], { timeoutMs: 170_000 });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as {
      ceilings: { dgramPps: number; wsGbps: number };
      rows: Array<{ transport: string; viewers: number; connected: number; deliveredMbps: number; relay: { cores: number }; rssMB: number; p50: number; p99: number }>;
    };
    assert.ok(result.ceilings.dgramPps > 0 && result.ceilings.wsGbps > 0, "ceilings measured");
    assert.deepEqual(result.rows.map((x) => x.transport), ["ws", "quic", "wt"]);
    for (const row of result.rows) {
      assert.equal(row.connected, row.viewers, `${row.transport}: every viewer connected`);
      assert.ok(row.deliveredMbps > 0, `${row.transport}: bytes delivered`);
      assert.ok(row.relay.cores > 0 && row.rssMB > 0, `${row.transport}: relay CPU and RSS read`);
      assert.ok(Number.isFinite(row.p50) && Number.isFinite(row.p99), `${row.transport}: latency from payload stamps`);
    }
    assert.ok(existsSync(join(out, "bench-hd.svg")), "chart written");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
