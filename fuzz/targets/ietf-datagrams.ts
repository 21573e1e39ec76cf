// Fuzz target: IETF object datagrams and fetch-stream objects (the other two data-path decoders).
// Byte 0 picks the draft, byte 1 the decoder (even: one datagram, odd: a fetch stream body, in
// descending group order when bit 1 is set); the rest is the input.
import type { FuzzTarget } from "../target.js";
import { DecodeError } from "../../src/util/bytes.js";
import { MoqError } from "../../src/session/error.js";
import { ObjectDatagram } from "../../src/session/ietf/datagram.js";
import { decodeFetchObjects, FetchObjectWriter } from "../../src/session/ietf/fetch.js";
import { DRAFTS } from "../../src/session/ietf/version.js";
import { IetfReader, IetfWriter } from "../../src/session/ietf/wire.js";

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [i, v] of DRAFTS.entries()) {
    const d = new ObjectDatagram(3, 17, 0, 5, 90_000, new TextEncoder().encode("datagram"), true).encode(v);
    out.push(Uint8Array.of(i, 0, ...d));
    const w = new IetfWriter(v);
    w.u8(i).u8(1);
    const ow = new FetchObjectWriter(v);
    for (const [g, o, p] of [[4, 0, "a"], [4, 1, ""], [6, 0, "bc"]] as const) {
      const payload = new TextEncoder().encode(p);
      ow.head(w, { group: g, object: o, priority: 1, ...(o === 0 ? { timestamp: 1000 + g } : {}), payload });
      w.bytes(payload);
    }
    out.push(w.finish());
  }
  return out;
}

export const target: FuzzTarget = {
  name: "ietf/datagrams",
  seeds: seeds(),
  run(input: Uint8Array): void {
    if (input.length < 2) return;
    const v = DRAFTS[input[0] % DRAFTS.length];
    const rest = input.subarray(2);
    if (input[1] % 2 === 0) ObjectDatagram.decode(rest, v);
    else decodeFetchObjects(new IetfReader(rest, v), (input[1] & 2) !== 0, 10_000);
  },
  expected(err: unknown): boolean {
    return err instanceof DecodeError || err instanceof MoqError;
  },
};
