// OpenMOQ's client (@moqt/webtransport's MoqtConnection, drafts 14/16/18) in Node, over the
// @moq/qmux WebTransport polyfill: the second, independent IETF implementation, for what
// @moq/net's IETF code does not do (FETCH, TRACK_STATUS, PUBLISH, object datagrams). Events are
// collected as plain values so tests can wait on them.
import "../util/polyfill.js";
import QmuxSession from "@moq/qmux";
import { MoqtConnection } from "@moqt/webtransport";
import type { TestRelay } from "../util/relay.js";
import { within } from "../util/moq.js";

export interface SeenObject {
  group: number;
  object: number;
  payload: string;
}

export interface SeenMessage {
  type: string;
  requestId?: number;
  errorCode?: number;
  raw: Record<string, unknown>;
}

/** Loose view of the connection's API (its own types need its full option objects). */
export interface OpenMoq {
  conn: MoqtConnection;
  protocol: string;
  messages: SeenMessage[];
  /** Objects per fetch request id (from fetch streams). */
  fetched: Map<number, SeenObject[]>;
  /** Fetch streams that ended, by request id. */
  fetchDone: Set<number>;
  datagrams: Array<SeenObject & { alias: number }>;
  errors: string[];
  closed: { code?: number; reason?: string } | undefined;
  /** Wait until `pred` holds (bounded; re-checked on every event). */
  until(what: string, pred: () => boolean, ms?: number): Promise<void>;
  /** The first message of `type` for `requestId`. */
  message(type: string, requestId: number, ms?: number): Promise<SeenMessage>;
  /** Re-check waiters (call after changing state a predicate reads). */
  notify(): void;
  close(): Promise<void>;
}

const text = (b: Uint8Array | undefined): string => (b === undefined ? "" : Buffer.from(b).toString());
const num = (v: unknown): number | undefined => (typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : undefined);

/** Connect OpenMOQ to the relay over QMux with one protocol pair (e.g. "qmux-01.moqt-18"). */
export async function openMoq(relay: TestRelay, pair: string): Promise<OpenMoq> {
  const url = new URL(relay.url("anon"));
  url.protocol = "ws:";
  const wt = new QmuxSession(url.href, { protocols: [pair], versions: {}, requireProtocol: true });
  await within(wt.ready, 5000, `the QMux handshake for ${pair}`);
  const d14 = pair.endsWith(".moq-00");
  const conn = d14 ? new MoqtConnection(14) : new MoqtConnection();
  // Every callback below calls notify(): waiters re-check their predicate then (no polling).
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  const waitUntil = (pred: () => boolean, ms: number, what: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (pred()) return resolve();
      const check = (): void => {
        if (!pred()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      waiters.add(check);
    });
  const out: OpenMoq = {
    conn,
    protocol: wt.protocol,
    messages: [],
    fetched: new Map(),
    fetchDone: new Set(),
    datagrams: [],
    errors: [],
    closed: undefined,
    until: (what, pred, ms = 8000) => waitUntil(pred, ms, what),
    notify,
    async message(type, requestId, ms = 8000) {
      let found: SeenMessage | undefined;
      await waitUntil(() => (found = out.messages.find((m) => m.type === type && m.requestId === requestId)) !== undefined, ms, `${type} for request ${requestId} (got ${out.messages.map((m) => `${m.type}:${m.requestId}`).join(" ")})`);
      return found as SeenMessage;
    },
    async close() {
      try {
        await within(conn.close(), 2000, "OpenMOQ close");
      } catch {
        wt.close();
      }
    },
  };
  const fetchStreams = new Map<bigint, number>();
  const c = conn as unknown as {
    onMessage: (m: Record<string, unknown>) => void;
    onDataStream: (id: bigint, h: { type: string; header: { requestId?: bigint } }) => void;
    onObject: (id: bigint, o: { groupId: bigint; objectId: bigint; payload?: Uint8Array }) => void;
    onStreamClosed: (id: bigint) => void;
    onDatagram: (d: { trackAlias: bigint; groupId: bigint; objectId: bigint; payload?: Uint8Array }) => void;
    onError: (e: Error) => void;
    onClose: (code?: number, reason?: string) => void;
  };
  c.onMessage = (m) => {
    out.messages.push({ type: String(m.type), requestId: num(m.requestId), errorCode: num(m.errorCode), raw: m });
    notify();
  };
  c.onDataStream = (id, h) => {
    if (h.type !== "fetch" || h.header.requestId === undefined) return;
    const rid = Number(h.header.requestId);
    fetchStreams.set(id, rid);
    if (!out.fetched.has(rid)) out.fetched.set(rid, []);
  };
  c.onObject = (id, o) => {
    const rid = fetchStreams.get(id);
    if (rid === undefined || o.payload === undefined) return;
    out.fetched.get(rid)?.push({ group: Number(o.groupId), object: Number(o.objectId), payload: text(o.payload) });
    notify();
  };
  c.onStreamClosed = (id) => {
    const rid = fetchStreams.get(id);
    if (rid !== undefined) out.fetchDone.add(rid);
    notify();
  };
  c.onDatagram = (d) => {
    if (d.payload !== undefined) out.datagrams.push({ alias: Number(d.trackAlias), group: Number(d.groupId), object: Number(d.objectId), payload: text(d.payload) });
    notify();
  };
  c.onError = (e) => {
    out.errors.push(e.message);
    notify();
  };
  c.onClose = (code, reason) => {
    out.closed = { code, reason };
    notify();
  };
  await within(conn.connect(wt as never), 5000, `OpenMOQ SETUP on ${pair}`);
  return out;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const ns = (path: string): Uint8Array[] => path.split("/").map(enc);
