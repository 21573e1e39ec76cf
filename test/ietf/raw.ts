// A lean raw IETF client over QMux/WebSocket built from the project's own codecs, for messages the
// real clients have no API for (SUBSCRIBE_UPDATE / REQUEST_UPDATE, malformed input): the setup for
// any draft, one request stream per request (a virtual one on the 14–16 control stream), the
// group ids of the subgroup streams the relay opens in arrival order, and its fetch streams.
import "../util/polyfill.js";
import QmuxSession from "@moq/qmux";
import { within } from "../util/moq.js";
import { detach } from "../../src/util/async.js";
import { control, ControlFramer, type ControlMessage } from "../../src/session/ietf/message.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { FETCH_HEADER, FIRST_OBJECT, SubgroupFlag } from "../../src/session/ietf/object.js";
import { RequestType } from "../../src/session/ietf/request.js";
import { ClientSetup, SetupType } from "../../src/session/ietf/setup.js";
import { Draft, hasControlStream, hasFirstObjectBit } from "../../src/session/ietf/version.js";
import { IetfReader, IetfWriter } from "../../src/session/ietf/wire.js";

const WAIT_MS = 5000;

/** The QMux subprotocol that pins draft `v`. */
export function qmuxProtocol(v: Draft): string {
  return v === Draft.D14 ? "qmux-01.moq-00" : `qmux-01.moqt-${v - 0xff000000}`;
}

/** Whole control messages from a stream, MAX_REQUEST_ID grants skipped. */
export function messageReader(readable: ReadableStream<Uint8Array>, v: Draft): (what: string) => Promise<ControlMessage> {
  const r = readable.getReader();
  const framer = new ControlFramer(v, 65535);
  return async (what) => {
    for (;;) {
      const m = framer.next();
      if (m !== undefined && m.type !== RequestType.MaxRequestId) return m;
      if (m !== undefined) continue;
      const { value, done } = await within(r.read(), WAIT_MS, what);
      if (done) throw new Error(`the stream ended waiting for ${what}`);
      framer.push(value);
    }
  };
}

export interface RawRequest {
  send(bytes: Uint8Array): Promise<void>;
  next(what: string): Promise<ControlMessage>;
}

export interface RawSession {
  s: QmuxSession;
  /** Open a request with its first message: a bidi stream (17+) or the control stream (14–16). */
  request(first: Uint8Array): Promise<RawRequest>;
  /** The group id of the next subgroup stream the relay opens (its bytes are drained). */
  nextGroup(what: string): Promise<number>;
  /** The publisher priority in each subgroup header seen so far, by group id. */
  priorities: Map<number, number>;
  /** The next fetch stream, once it ended (FIN or reset). */
  nextFetch(what: string): Promise<RawFetch>;
  /** Drafts 17+: our SETUP stream (it stays open; GOAWAY travels on it). */
  setup?: WritableStream<Uint8Array>;
  close(): void;
}

/** Connect to `url` speaking draft `v` and finish the setup. */
export async function rawSession(url: URL, v: Draft): Promise<RawSession> {
  const s = new QmuxSession(url, { protocols: [qmuxProtocol(v)], versions: {}, requireProtocol: true });
  await within(s.ready, WAIT_MS, "the raw QMux handshake");
  const uni = uniStreams(s, v);
  if (hasControlStream(v)) {
    const bidi = await s.createBidirectionalStream();
    const w = bidi.writable.getWriter();
    const next = messageReader(bidi.readable as ReadableStream<Uint8Array>, v);
    await w.write(control(v, SetupType.Client, (x) => new ClientSetup([v], new Params().setVarint(SetupKey.MaxRequestId, 100)).encode(x)));
    const setup = await next("SERVER_SETUP");
    if (setup.type !== SetupType.Server) throw new Error(`expected SERVER_SETUP, got 0x${setup.type.toString(16)}`);
    // Every request shares the control stream: whoever asks reads the next message.
    const req: RawRequest = { send: (bytes) => w.write(bytes), next };
    return {
      s,
      request: async (first) => {
        await req.send(first);
        return req;
      },
      nextGroup: (what) => uni.groups.next(what),
      priorities: uni.priorities,
      nextFetch: (what) => uni.fetches.next(what),
      close: () => s.close(),
    };
  }
  const setup = await s.createUnidirectionalStream();
  const sw = setup.getWriter();
  const body = new IetfWriter(v);
  new Params().encodeSetup(body);
  await sw.write(new IetfWriter(v).varint(SetupType.Setup).u16(body.pos).bytes(body.view()).finish());
  sw.releaseLock();
  return {
    s,
    request: async (first) => {
      const bidi = await s.createBidirectionalStream();
      const w = bidi.writable.getWriter();
      await w.write(first);
      return { send: (bytes) => w.write(bytes), next: messageReader(bidi.readable as ReadableStream<Uint8Array>, v) };
    },
    nextGroup: (what) => uni.groups.next(what),
    priorities: uni.priorities,
    nextFetch: (what) => uni.fetches.next(what),
    setup,
    close: () => s.close(),
  };
}

/** A fetch stream, read to its end: its Request ID, the body after FETCH_HEADER, and its reset code if it was reset. */
export interface RawFetch {
  id: number;
  body: Uint8Array;
  reset?: number;
}

/** A bounded wait for the next item of a queue that `push` fills. */
class Queue<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;

  push(x: T): void {
    this.items.push(x);
    this.wake?.();
  }

  async next(what: string): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    while (this.items.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.items.shift() as T;
  }
}

/**
 * The relay's uni streams: subgroup streams reduced to their group id (queued as soon as the
 * header is in), fetch streams read to their end; the relay's SETUP stream is skipped.
 */
function uniStreams(s: QmuxSession, v: Draft): { groups: Queue<number>; fetches: Queue<RawFetch>; priorities: Map<number, number> } {
  const groups = new Queue<number>();
  const priorities = new Map<number, number>();
  const fetches = new Queue<RawFetch>();
  const read = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    const r = stream.getReader();
    const parts: Uint8Array[] = [];
    let type: number | undefined;
    let head = 0;
    let id = 0;
    for (;;) {
      let chunk: Awaited<ReturnType<typeof r.read>>;
      try {
        chunk = await r.read();
      } catch (err) {
        const code = (err as { streamErrorCode?: number }).streamErrorCode;
        if (type === FETCH_HEADER) fetches.push({ id, body: Buffer.concat(parts).subarray(head), reset: code ?? -1 });
        return;
      }
      if (chunk.done) break;
      parts.push(chunk.value);
      if (type !== undefined) continue;
      const rd = new IetfReader(Buffer.concat(parts), v);
      try {
        const t = rd.varint();
        if (t === SetupType.Setup) return void r.releaseLock();
        if (t === FETCH_HEADER) id = rd.varint();
        else {
          rd.varint(); // Track Alias
          const group = rd.varint();
          const bare = hasFirstObjectBit(v) ? t & ~FIRST_OBJECT : t;
          if (bare & SubgroupFlag.ExplicitSubgroup) rd.varint();
          if ((bare & 0xf0) === 0x10) priorities.set(group, rd.u8());
          groups.push(group);
        }
        type = t;
        head = rd.pos;
      } catch {
        continue; // not enough bytes for the header yet
      }
    }
    if (type === FETCH_HEADER) fetches.push({ id, body: Buffer.concat(parts).subarray(head) });
  };
  const accept = async (): Promise<void> => {
    const r = (s.incomingUnidirectionalStreams as ReadableStream<ReadableStream<Uint8Array>>).getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) return;
      detach(read(value), () => undefined);
    }
  };
  detach(accept(), () => undefined);
  return { groups, fetches, priorities };
}
