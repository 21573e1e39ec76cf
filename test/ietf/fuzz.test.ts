// The IETF fuzz targets hold their contract on their seeds and on a few thousand deterministic
// mutations: every input is accepted or refused with the decoder's named error, never a crash.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { FuzzTarget } from "../../fuzz/target.js";
import { target as control } from "../../fuzz/targets/ietf-control.js";
import { target as objects } from "../../fuzz/targets/ietf-objects.js";
import { target as datagrams } from "../../fuzz/targets/ietf-datagrams.js";

/** xorshift32: the same mutations every run, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function mutate(seed: Uint8Array, next: () => number): Uint8Array {
  const out = Uint8Array.from(seed);
  const edits = 1 + (next() % 6);
  for (let i = 0; i < edits && out.length > 0; i++) {
    const at = next() % out.length;
    switch (next() % 4) {
      case 0:
        out[at] = next() & 0xff;
        break;
      case 1:
        out[at] ^= 1 << (next() % 8);
        break;
      case 2:
        out[at] = [0x00, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xfe, 0xff][next() % 9];
        break;
      default:
        return out.subarray(0, at); // truncation
    }
  }
  return out;
}

for (const t of [control, objects, datagrams] as FuzzTarget[]) {
  test(`fuzz target ${t.name}: seeds decode, mutations never crash`, async () => {
    for (const s of t.seeds) await t.run(s);
    const next = rng(0x1e7f);
    let refused = 0;
    for (let i = 0; i < Number(process.env.IETF_FUZZ_N ?? 4000); i++) {
      const input = mutate(t.seeds[i % t.seeds.length], next);
      try {
        await t.run(input);
      } catch (err) {
        assert.ok(t.expected(err), `input ${Buffer.from(input).toString("hex")} crashed: ${String(err)}`);
        refused++;
      }
    }
    assert.ok(refused > 0, "some mutations must be refused");
  });
}
