// Runs inside headless Chromium: the real @moq/net client, driven by the test via page.evaluate.
import * as Moq from "@moq/net";

interface ConnectOptions {
  /** Force the QMux/WebSocket path by hiding WebTransport. */
  websocketOnly?: boolean;
  /** Hex SHA-256 of the relay certificate, for WebTransport with a self-signed certificate. */
  hash?: string;
}

async function connect(url: string, opts: ConnectOptions): Promise<Awaited<ReturnType<typeof Moq.Connection.connect>>> {
  if (opts.websocketOnly) (globalThis as { WebTransport?: unknown }).WebTransport = undefined;
  return Moq.Connection.connect(new URL(url), {
    websocket: opts.websocketOnly ? { delay: 0 } : { enabled: false },
    webtransport: opts.hash ? { serverCertificateHashes: [{ value: opts.hash }] } : undefined,
  });
}

const api = {
  async subscribe(url: string, path: string, track: string, groups: number, opts: ConnectOptions): Promise<{ version: string; groups: Array<{ sequence: number; frames: string[] }> }> {
    const conn = await connect(url, opts);
    const announced = conn.announced(Moq.Path.from(""));
    for (;;) {
      const e = await announced.next();
      if (e === undefined) throw new Error("announcements ended");
      if (e.path === path && e.active) break;
    }
    const sub = conn.consume(Moq.Path.from(path)).subscribe(track, { priority: 0 });
    (globalThis as { moqReady?: boolean }).moqReady = true;
    const out: Array<{ sequence: number; frames: string[] }> = [];
    while (out.length < groups) {
      const g = await sub.recvGroup();
      if (g === undefined) break;
      const frames: string[] = [];
      for (let f = await g.readFrame(); f !== undefined; f = await g.readFrame()) frames.push(new TextDecoder().decode(f.payload));
      out.push({ sequence: (g as unknown as { sequence: number }).sequence, frames });
    }
    const version = conn.version;
    conn.close();
    return { version, groups: out };
  },

  async publish(url: string, path: string, track: string, groups: string[][], opts: ConnectOptions): Promise<string> {
    const conn = await connect(url, opts);
    const bc = new Moq.Broadcast.Producer();
    const t = bc.createTrack(track);
    conn.publish(Moq.Path.from(path), bc);
    // Keep publishing the same groups until the test closes the page: viewers may join late.
    (globalThis as { moqPublish?: () => void }).moqPublish = () => {
      for (const frames of groups) {
        const g = t.appendGroup();
        for (const f of frames) g.writeString(f);
        g.close();
      }
    };
    return conn.version;
  },
};

(globalThis as { moq?: typeof api }).moq = api;
