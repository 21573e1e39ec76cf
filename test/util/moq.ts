// Typed helpers over the real @moq/net client in Node, where it speaks QMux over WebSocket only
// (Node has no WebTransport). The helpers themselves live in ./page/core.ts so the Chromium page
// drives the client exactly the same way.
import "./polyfill.js";
import { WebSocket } from "ws";
import { connectMoq, DEFAULT_TIMEOUT_MS, within, type Conn } from "./page/core.js";

export {
  Announcements,
  BroadcastWriter,
  DEFAULT_TIMEOUT_MS,
  describeError,
  publish,
  publishBroadcast,
  Publisher,
  Reader,
  subscribe,
  toBytes,
  TrackWriter,
  waitAnnounced,
  waitUntil,
  Waiters,
  watchAnnounced,
  within,
  writeFrames,
  type AnnounceEvent,
  type Conn,
  type FrameInput,
  type GroupOptions,
  type ReceivedFrame,
  type ReceivedGroup,
  type SubscribeOptions,
} from "./page/core.js";

export interface ConnectOptions {
  /**
   * Pin one protocol (e.g. "moq-lite-04", "moq-lite-03", "moql" for legacy lite-02), or a
   * "qmux-0X.<alpn>" pair to pin the QMux wire version too. Default: whatever the client
   * offers first (moq-lite-05).
   */
  protocol?: string;
  /** Bound on the whole connect (default 5 s). */
  timeoutMs?: number;
}

/**
 * Connect like a Node app would: `http://host:port/root` dials `ws://host:port/root` with QMux.
 * The connection's `version` is the negotiated protocol, `close()` ends it, `closed` settles
 * when it ends. A refused handshake (e.g. HTTP 401) rejects.
 */
export function connect(url: string | URL, opts: ConnectOptions = {}): Promise<Conn> {
  return connectMoq(new URL(url), {
    protocol: opts.protocol,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // No WebTransport in Node, so no head start to wait out.
    props: { websocket: { delay: 0 } },
  });
}

export interface UpgradeResult {
  /** 101 when the WebSocket upgrade was accepted, else the HTTP status (401, 403, 400…). */
  status: number;
  /** The Sec-WebSocket-Protocol the server chose (101 only). */
  protocol?: string;
  /** The response body of a refused upgrade. */
  body?: string;
}

/**
 * Try only the WebSocket upgrade that `connect` would do, and report the HTTP outcome; the
 * client itself hides the status of a refused upgrade. Offers `protocols` as given (default:
 * moq-lite-05 on each qmux version, the client's first choices).
 */
export function upgrade(url: string | URL, protocols = ["qmux-02.moq-lite-05", "qmux-01.moq-lite-05", "qmux-00.moq-lite-05"], ms = DEFAULT_TIMEOUT_MS): Promise<UpgradeResult> {
  const ws = new URL(url);
  ws.protocol = ws.protocol === "https:" ? "wss:" : ws.protocol === "http:" ? "ws:" : ws.protocol;
  const socket = new WebSocket(ws, protocols);
  const result = new Promise<UpgradeResult>((resolve, reject) => {
    socket.once("open", () => {
      resolve({ status: 101, protocol: socket.protocol });
      socket.terminate();
    });
    socket.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    socket.once("error", reject);
  });
  return within(result, ms, `the WebSocket upgrade at ${ws.href}`, () => socket.terminate());
}
