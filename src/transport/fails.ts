// Optional engine: WebTransport served by @fails-components/webtransport's Http3Server when its
// native HTTP/3 transport (@fails-components/webtransport-transport-http3-quiche) is installed.
// That package builds from GitHub at install time, so it is absent on most machines (including
// ours and CI's); `[server] engine = "fails-quiche"` then fails at start with a clear message.
// This engine cannot answer wt-protocol, so clients negotiate moq-lite-02 in-band.
import { randomBytes } from "node:crypto";
import type { Session } from "./session.js";
import { detach } from "../util/async.js";
import { WtSession, type WtLike } from "./wt-adapter.js";
import type { Logger } from "../util/log.js";

export interface FailsOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  log: Logger;
  /** Decide on a CONNECT: an HTTP status (200 = accept). */
  authorize(url: URL, remote: string): Promise<number>;
  onSession(session: Session): void;
}

export interface FailsSession extends WtLike {
  readonly userData?: { url?: string; remote?: string };
  /** "ip:port" of the peer, as the library's native transport reports it. */
  readonly peerAddress?: string;
}

interface FailsServer {
  startServer(): void;
  stopServer(): void;
  ready: Promise<unknown>;
  setRequestCallback(cb: (req: { header: Record<string, string> }) => Promise<object>): void;
  sessionStream(path: string, args?: { noAutoPaths?: boolean }): ReadableStream<FailsSession>;
}

/** True when both the library and its native HTTP/3 transport can be loaded. */
export async function failsAvailable(): Promise<boolean> {
  try {
    await import("@fails-components/webtransport-transport-http3-quiche" as string);
    return true;
  } catch {
    return false;
  }
}

const ROUTE = "/moq";

export async function startFails(opts: FailsOptions): Promise<{ close(): void }> {
  if (!(await failsAvailable())) {
    throw new Error('engine "fails-quiche" needs @fails-components/webtransport-transport-http3-quiche, which is not installed (its install downloads from GitHub)');
  }
  const lib = (await import("@fails-components/webtransport")) as unknown as { Http3Server: new (init: object) => FailsServer };
  const server = new lib.Http3Server({ host: opts.host, port: opts.port, secret: randomBytes(32).toString("hex"), cert: opts.certPem, privKey: opts.keyPem, defaultDatagramsReadableMode: "bytes" });
  // Every path is ours: route all CONNECTs to one session stream and keep the real URL as user data.
  server.setRequestCallback(async ({ header }) => {
    const url = new URL(`https://${header[":authority"] ?? "relay"}${header[":path"] ?? "/"}`);
    // The library hands the request callback no peer address; the session below has it, and
    // admission counts sessions by it when they start.
    const status = await opts.authorize(url, "");
    return { status, path: ROUTE, userData: { url: url.toString() } };
  });
  server.startServer();
  await server.ready;
  acceptSessions(server.sessionStream(ROUTE, { noAutoPaths: true }), opts);
  opts.log.info({ port: opts.port }, "WebTransport served by the fails-quiche engine");
  return { close: () => server.stopServer() };
}

/**
 * Hands each session that completes its handshake to `onSession`. Handshakes are awaited side by
 * side: one that fails ends only itself, one that never completes holds up nobody else.
 */
export function acceptSessions(sessions: ReadableStream<FailsSession>, opts: Pick<FailsOptions, "log" | "onSession">): void {
  const reader = sessions.getReader();
  const ready = async (s: FailsSession): Promise<void> => {
    try {
      await s.ready;
    } catch (err) {
      opts.log.debug({ err, remote: s.peerAddress, transport: "webtransport" }, "fails-quiche session failed before ready");
      return;
    }
    const url = new URL(s.userData?.url ?? "https://relay/");
    // "ip:port" of the peer: per-address limits count by it.
    const remote = s.peerAddress ?? s.userData?.remote ?? "";
    opts.onSession(new WtSession(s, { transport: "webtransport", protocol: "", url, remote }));
  };
  detach(
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        detach(ready(value), (err) => opts.log.warn({ err }, "fails-quiche session hand-over failed"));
      }
    })(),
    (err) => opts.log.error({ err }, "fails-quiche engine stopped"),
  );
}
