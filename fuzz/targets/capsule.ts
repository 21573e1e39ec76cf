// Fuzz target: capsules on a WebTransport CONNECT stream (RFC 9297) as the relay parses them: the
// incremental CapsuleParser with the default 64 KiB cap, fed in chunks chosen by byte 0, and a
// CLOSE_WEBTRANSPORT_SESSION capsule read for its code and reason as the session does.
import type { FuzzTarget } from "../target.js";
import { DecodeError, Reader, Writer } from "../../src/util/bytes.js";
import { H3Error, H3ProtocolError } from "../../src/transport/h3/frame.js";
import { CapsuleParser } from "../../src/transport/h3/parser.js";
import { Capsule } from "../../src/transport/h3/webtransport.js";
import { chunked } from "./h3-frame.js";

const close = (code: number, reason: string): Uint8Array => {
  const body = new Writer(64).u8(code >>> 24).u8((code >>> 16) & 0xff).u8((code >>> 8) & 0xff).u8(code & 0xff).bytes(Buffer.from(reason)).finish();
  return new Writer(80).varint(Capsule.CloseSession).varint(body.byteLength).bytes(body).finish();
};

const seeds = [
  Uint8Array.of(0, ...close(0, "")),
  Uint8Array.of(1, ...close(4242, "bye now")),
  Uint8Array.of(7, ...new Writer(8).varint(Capsule.DrainSession).varint(0).finish(), ...close(1, "x")),
  Uint8Array.of(3, ...new Writer(16).varint(0x1f * 5 + 0x29).varint(10).finish(), ...new Uint8Array(10)),
];

export const target: FuzzTarget = {
  name: "h3/capsule",
  seeds,
  run(input: Uint8Array): void {
    const parser = new CapsuleParser(64 * 1024, (type, payload) => {
      if (type !== Capsule.CloseSession) return;
      if (payload.byteLength < 4) throw new H3ProtocolError(H3Error.MessageError, "CLOSE_WEBTRANSPORT_SESSION shorter than its code");
      const r = new Reader(payload);
      r.u8();
      r.u8();
      r.u8();
      r.u8();
      Buffer.from(r.rest()).toString("utf8");
    });
    chunked(input.subarray(1), input[0] ?? 0, (c) => parser.push(c));
  },
  expected: (err) => err instanceof H3ProtocolError || err instanceof DecodeError,
};
