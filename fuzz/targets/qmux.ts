// Fuzz target: the relay's QMux-over-WebSocket session (an @moq/qmux server session behind our
// WebSocketSession and its stream adapter), as src/transport/websocket/server.ts builds it, fed
// WebSocket messages from an in-memory socket. @moq/qmux exports no decoder, so the whole session
// is the unit: byte 0 picks the wire format, the rest is a list of messages (u16 length + bytes).
// Seeds are what a real @moq/qmux client sends for a short session in each format.
//
// Per input: no exception escapes, the session settles within the hang limit once the socket
// drops, no session outlives its input, and a session the relay ends itself (a malformed or
// out-of-bounds frame) ends with a CONNECTION_CLOSE carrying PROTOCOL_VIOLATION as @moq/qmux
// numbers it (1002), read back by a real @moq/qmux client.
import "../../src/util/node20.js";
import QmuxSession from "@moq/qmux";
import type { FuzzTarget } from "../target.js";
import type { BidiStream, CloseInfo, RecvStream } from "../../src/transport/session.js";
import { WebSocketSession, type QmuxLike } from "../../src/transport/websocket/session.js";

/** Our subprotocol per wire format: the relay accepts each (test/transport/websocket.test.ts). */
const FORMATS = ["qmux-02.moq-lite-05", "qmux-01.moq-lite-05", "qmux-00.moq-lite-04", "webtransport"] as const;
/** What @moq/qmux sends in CONNECTION_CLOSE on a decode failure or a violated limit. */
export const QMUX_PROTOCOL_VIOLATION = 1002;
/** How @moq/qmux reports a socket that dropped without a close frame. */
const NO_CLOSE_FRAME = 1006;
const MAX_MESSAGE = 1 << 16;

type Socket = ConstructorParameters<typeof QmuxSession>[0];

/** One end of an in-memory WebSocket: what a WebSocketLike needs, already open. */
class MemSocket {
  binaryType = "arraybuffer";
  readonly bufferedAmount = 0;
  readyState = 1;
  readonly extensions = "";
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null = null;
  /** Closed by its owner (the session on this end), not by the far end. */
  closedHere = false;

  constructor(
    readonly protocol: string,
    private readonly out: (data: Uint8Array) => void,
  ) {}

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.readyState !== 1) return;
    if (typeof data === "string") return;
    const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    this.out(view.slice());
  }

  close(code?: number, reason?: string): void {
    if (this.readyState !== 1) return;
    this.closedHere = true;
    this.drop(code ?? 1005, reason ?? "");
  }

  /** The connection is gone (either end): report it once, from a fresh stack. */
  drop(code = 1006, reason = ""): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  deliver(data: Uint8Array): void {
    if (this.readyState === 1) this.onmessage?.({ data });
  }
}

/** An application like the relay's, minus MoQ: every stream is read to its end, bidi echoed. */
function serve(session: WebSocketSession): void {
  const drain = (r: RecvStream, echo?: BidiStream): void => {
    r.onData = (d) => {
      if (echo !== undefined && d.byteLength > 0) echo.send.write(d);
    };
    r.onEnd = () => echo?.send.end();
    r.onReset = (code) => echo?.send.reset(code);
  };
  session.onBidi = (s) => drain(s.recv, s);
  session.onUni = (r) => drain(r);
  session.onDatagram = () => undefined;
}

function accept(protocol: string, out: (d: Uint8Array) => void): { socket: MemSocket; session: WebSocketSession; qmux: QmuxSession } {
  const socket = new MemSocket(protocol, out);
  const qmux = QmuxSession.accept(socket as unknown as Parameters<typeof QmuxSession.accept>[0], {
    protocol,
    // Small windows and limits, so the fuzzer reaches them; no idle timer.
    config: { maxStreamsBidi: 16n, maxStreamsUni: 16n, maxData: 1n << 20n, maxStreamDataBidiLocal: 1n << 16n, maxStreamDataBidiRemote: 1n << 16n, maxStreamDataUni: 1n << 16n, maxIdleTimeout: 0n },
  });
  const session = new WebSocketSession(qmux as unknown as QmuxLike, {
    subprotocol: protocol,
    protocol: protocol.includes(".") ? protocol.slice(protocol.indexOf(".") + 1) : "",
    url: new URL("ws://127.0.0.1/anon"),
    remote: "127.0.0.1:1",
    terminate: () => socket.drop(),
  });
  serve(session);
  return { socket, session, qmux };
}

/** @moq/qmux prints every protocol violation with console.error; keep the fuzzer's output readable. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const error = console.error;
  console.error = () => undefined;
  try {
    return await fn();
  } finally {
    console.error = error;
  }
}

/** Let queued stream work run: the session processes a message over a few turns. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The messages a real client sends for a short session in `protocol`: the seeds. */
async function record(protocol: string, index: number): Promise<Uint8Array> {
  const sent: Uint8Array[] = [];
  const to: { client?: MemSocket } = {};
  const server = accept(protocol, (d) => to.client?.deliver(d));
  const client = (to.client = new MemSocket(protocol, (d) => {
    sent.push(d);
    server.socket.deliver(d);
  }));
  const peer = new QmuxSession(client as unknown as Socket);
  await peer.ready;
  const enc = new TextEncoder();
  const bidi = await peer.createBidirectionalStream();
  const bw = bidi.writable.getWriter();
  await bw.write(enc.encode("hello relay"));
  await bw.close();
  const uni = await peer.createUnidirectionalStream();
  const uw = uni.getWriter();
  await uw.write(enc.encode("a uni stream"));
  await uw.close();
  const reset = await peer.createUnidirectionalStream();
  const rw = reset.getWriter();
  await rw.write(enc.encode("reset me"));
  await rw.abort({ streamErrorCode: 3 });
  const stopped = await peer.createBidirectionalStream();
  await stopped.readable.cancel({ streamErrorCode: 4 });
  await turns(4);
  peer.close({ closeCode: 7, reason: "bye" });
  await turns(4);
  server.socket.drop();
  client.drop();
  await server.session.closed;
  const size = sent.reduce((n, m) => n + 2 + m.byteLength, 1);
  const out = new Uint8Array(size);
  out[0] = index;
  let at = 1;
  for (const m of sent) {
    out[at] = m.byteLength >> 8;
    out[at + 1] = m.byteLength & 0xff;
    out.set(m, at + 2);
    at += 2 + m.byteLength;
  }
  return out;
}

const seeds = await quietly(() => Promise.all(FORMATS.map((f, i) => record(f, i))));

/** Sessions not yet settled: each must settle before its input's run ends. */
const live = new Set<WebSocketSession>();

/** Read what the relay sent with a real client: the code of the close frame it ended with. */
async function closeCode(protocol: string, sent: Uint8Array[]): Promise<number | undefined> {
  const socket = new MemSocket(protocol, () => undefined);
  const client = new QmuxSession(socket as unknown as Socket);
  let code: number | undefined;
  const settled = client.closed.then(
    (info) => void (code = info.closeCode),
    (err: unknown) => {
      const m = /Connection closed: (\d+)/.exec(err instanceof Error ? err.message : String(err));
      code = m === null ? undefined : Number(m[1]);
    },
  );
  await client.ready;
  for (const d of sent) socket.deliver(d);
  await turns(3);
  socket.drop();
  await settled;
  return code;
}

async function run(input: Uint8Array): Promise<void> {
  if (input.length < 1) return;
  const protocol = FORMATS[input[0] % FORMATS.length];
  // The relay's first message (its transport parameters, on QMux formats) and its latest (the
  // CONNECTION_CLOSE, if it closed): what a client needs to read how the session ended.
  let first: Uint8Array | undefined;
  let last: Uint8Array | undefined;
  const { socket, session, qmux } = accept(protocol, (d) => {
    if (first === undefined) first = d;
    else last = d;
  });
  let ended: { byPeer: boolean; why: string } | undefined;
  qmux.closed.then(
    () => (ended = { byPeer: true, why: "APPLICATION_CLOSE" }),
    (err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      // @moq/qmux names a peer's CONNECTION_CLOSE (and a dropped socket) "Connection closed: <code>".
      ended = { byPeer: why.startsWith("Connection closed: "), why };
    },
  );
  live.add(session);
  let info: CloseInfo | undefined;
  const closed = session.closed.then((i) => {
    info = i;
    live.delete(session);
  });
  await turns(1);
  for (let at = 1; at + 2 <= input.length && socket.readyState === 1; ) {
    const n = Math.min((input[at] << 8) | input[at + 1], MAX_MESSAGE);
    socket.deliver(input.subarray(at + 2, at + 2 + n));
    at += 2 + n;
    await turns(1);
  }
  await turns(3);
  const early = info;
  socket.drop();
  await closed;
  if (live.size > 0) throw new Error(`${live.size} sessions outlived their input`);
  if (early === undefined) return;
  // The session ended before the socket dropped: the peer closed it (APPLICATION_CLOSE or
  // CONNECTION_CLOSE in the input), or the relay did, and then it must have said why.
  const code = await closeCode(protocol, [first, last].filter((d) => d !== undefined));
  const peerClosed = ended?.byPeer === true;
  if (code !== QMUX_PROTOCOL_VIOLATION && !(peerClosed && code === NO_CLOSE_FRAME)) {
    throw new Error(`the relay ended the session (${ended?.why ?? "?"}) and its CONNECTION_CLOSE read ${code ?? "nothing"}`);
  }
}

export const target: FuzzTarget = {
  name: "qmux/session",
  seeds,
  run: (input) => quietly(() => run(input)),
  // Every input is the peer's to choose: nothing it sends may surface as an exception.
  expected: () => false,
};
