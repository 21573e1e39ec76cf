// Fuzz target: the IETF subgroup-stream parser (the data path). Byte 0 picks the draft, byte 1
// the chunk size the stream arrives in; the rest is a whole uni stream (type, header, objects).
import type { FuzzTarget } from "../target.js";
import { DecodeError, ShortRead } from "../../src/util/bytes.js";
import { MoqError } from "../../src/session/error.js";
import { encodeObjectHead, encodeSubgroupHeader, ObjectParser, subgroupType } from "../../src/session/ietf/object.js";
import { DRAFTS } from "../../src/session/ietf/version.js";
import { IetfReader, IetfWriter } from "../../src/session/ietf/wire.js";

function seeds(): Uint8Array[] {
  return DRAFTS.map((v, i) => {
    const w = new IetfWriter(v);
    w.u8(i).u8(5);
    encodeSubgroupHeader(w, subgroupType(v, true), 3, 17, 0);
    for (const p of ["a", "", "frame two"]) {
      encodeObjectHead(w, 0, true, 1000 + p.length, p.length);
      w.bytes(new TextEncoder().encode(p));
    }
    return w.finish();
  });
}

export const target: FuzzTarget = {
  name: "ietf/objects",
  seeds: seeds(),
  run(input: Uint8Array): void {
    if (input.length < 3) return;
    const v = DRAFTS[input[0] % DRAFTS.length];
    const step = 1 + (input[1] % 64);
    const r = new IetfReader(input, v, 2);
    let type: number;
    try {
      type = r.varint();
    } catch (e) {
      if (e instanceof ShortRead) return;
      throw e;
    }
    const p = new ObjectParser(v, type, 1 << 16, { header: () => undefined, object: () => undefined });
    const rest = input.subarray(r.pos);
    for (let i = 0; i < rest.length; i += step) p.push(rest.subarray(i, i + step));
    p.end();
  },
  expected(err: unknown): boolean {
    return err instanceof DecodeError || err instanceof MoqError;
  },
};
