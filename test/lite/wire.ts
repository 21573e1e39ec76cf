// Test helpers: byte literals written like the captures in moq-wire.md, and the real @moq/net
// lite codec (the client the relay must interoperate with) driven over in-memory streams.
import { Reader, Writer } from "../../src/util/bytes.js";
import { Framer } from "../../src/session/lite/framer.js";
import * as ClientAnnounce from "../../node_modules/@moq/net/lite/announce.js";
import * as ClientDatagram from "../../node_modules/@moq/net/lite/datagram.js";
import * as ClientFetch from "../../node_modules/@moq/net/lite/fetch.js";
import * as ClientGoaway from "../../node_modules/@moq/net/lite/goaway.js";
import * as ClientGroup from "../../node_modules/@moq/net/lite/group.js";
import * as ClientProbe from "../../node_modules/@moq/net/lite/probe.js";
import * as ClientSession from "../../node_modules/@moq/net/lite/session.js";
import * as ClientSetup from "../../node_modules/@moq/net/lite/setup.js";
import * as ClientSubscribe from "../../node_modules/@moq/net/lite/subscribe.js";
import * as ClientTrack from "../../node_modules/@moq/net/lite/track.js";
import * as ClientStream from "../../node_modules/@moq/net/stream.js";

/** The real client's lite codec (its package index is not importable under NodeNext types). */
export const Client = {
  ...ClientAnnounce,
  ...ClientDatagram,
  ...ClientFetch,
  ...ClientGoaway,
  ...ClientGroup,
  ...ClientProbe,
  ...ClientSession,
  ...ClientSetup,
  ...ClientSubscribe,
  ...ClientTrack,
};

/**
 * Bytes from capture notation: hex runs ("c0010adbcdd0ed66"), quoted ASCII ("room"), and the
 * separators `|` and `;`, which are ignored.
 */
export function hex(spec: string): Uint8Array {
  const out: number[] = [];
  for (const tok of spec.match(/"[^"]*"|[^\s|;]+/g) ?? []) {
    if (tok.startsWith('"')) {
      for (const b of new TextEncoder().encode(tok.slice(1, -1))) out.push(b);
      continue;
    }
    if (!/^([0-9a-f]{2})+$/i.test(tok)) throw new Error(`bad hex token ${tok}`);
    for (let i = 0; i < tok.length; i += 2) out.push(parseInt(tok.slice(i, i + 2), 16));
  }
  return new Uint8Array(out);
}

/** What `fn` writes with our Writer. */
export function bytesOf(fn: (w: Writer) => void): Uint8Array {
  const w = new Writer(16);
  fn(w);
  return w.finish();
}

/** Decode exactly one message from `bytes` with our codec; the whole buffer must be consumed. */
export function decodeAll<T>(bytes: Uint8Array, decode: (r: Reader) => T): T {
  const r = new Reader(bytes);
  const out = decode(r);
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after decode`);
  return out;
}

/** Feed `bytes` to a Framer in pieces of `step` bytes, collecting every message `next` yields. */
export function frameAll<T>(bytes: Uint8Array, step: number, next: (f: Framer) => T | undefined, max = 4096): T[] {
  const f = new Framer(max);
  const out: T[] = [];
  for (let i = 0; i < bytes.length; i += step) {
    f.push(bytes.slice(i, i + step));
    for (let m = next(f); m !== undefined; m = next(f)) out.push(m);
  }
  f.end();
  return out;
}

/** What the real client's encoder writes. */
export async function clientEncode(fn: (w: ClientStream.Writer) => Promise<void>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const w = new ClientStream.Writer(
    new WritableStream<Uint8Array>({
      write(chunk) {
        chunks.push(chunk.slice());
      },
    }),
  );
  await fn(w);
  w.close();
  await w.closed;
  return concat(chunks);
}

/** A client Reader over fixed bytes (EOF after them). */
export function clientReader(bytes: Uint8Array): ClientStream.Reader {
  return new ClientStream.Reader(undefined, bytes.slice());
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
