// Typed helpers over the real @moq/net client (Node: QMux over WebSocket), every wait bounded.
import "./polyfill.js";
import * as Moq from "@moq/net";
import QmuxSession from "@moq/qmux";

export type Conn = Awaited<ReturnType<typeof Moq.Connection.connect>>;

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Connect like a Node app would; `protocol` pins a version through a prebuilt QMux transport. */
export async function connect(url: URL, opts: { protocol?: string } = {}): Promise<Conn> {
  if (opts.protocol !== undefined) {
    const ws = new URL(url);
    ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
    const transport = new QmuxSession(ws, { protocols: [opts.protocol], versions: { [opts.protocol]: null }, requireProtocol: true });
    await within(transport.ready, 5000, `WebSocket handshake for ${opts.protocol}`);
    return within(Moq.Connection.connect(url, { transport: transport as unknown as NonNullable<Parameters<typeof Moq.Connection.connect>[1]>["transport"] }), 5000, `connect ${url.pathname} (${opts.protocol})`);
  }
  return within(Moq.Connection.connect(url, { websocket: { delay: 0 } }), 5000, `connect ${url.pathname}`);
}

export interface Publisher {
  broadcast: Moq.Broadcast.Producer;
  track: Moq.Track.Producer;
  /** Write a whole group of frames; returns the group so callers may keep it open. */
  group(frames: Array<Uint8Array | string>, keepOpen?: boolean): Moq.Group.Producer;
}

export function publish(conn: Conn, path: string, trackName: string): Publisher {
  const broadcast = new Moq.Broadcast.Producer();
  const track = broadcast.createTrack(trackName);
  conn.publish(Moq.Path.from(path), broadcast);
  return {
    broadcast,
    track,
    group(frames, keepOpen = false) {
      const g = track.appendGroup();
      for (const f of frames) {
        if (typeof f === "string") g.writeString(f);
        else g.writeFrame({ payload: f, timestamp: Moq.Time.Timestamp.now() });
      }
      if (!keepOpen) g.close();
      return g;
    },
  };
}

/** Wait until `path` (relative to `prefix`) is announced active. */
export async function waitAnnounced(conn: Conn, path: string, prefix = "", ms = 5000): Promise<void> {
  const announced = conn.announced(Moq.Path.from(prefix));
  const loop = async (): Promise<void> => {
    for (;;) {
      const e = await announced.next();
      if (e === undefined) throw new Error("announcements ended");
      if (e.path === path && e.active) return;
    }
  };
  await within(loop(), ms, `announcement of ${path}`);
}

export interface ReceivedGroup {
  sequence: number;
  frames: Uint8Array[];
}

export interface Reader {
  sub: Moq.Track.Subscriber;
  nextGroup(ms?: number): Promise<ReceivedGroup>;
}

export function subscribe(conn: Conn, path: string, trackName: string): Reader {
  const sub = conn.consume(Moq.Path.from(path)).subscribe(trackName, { priority: 0 });
  return {
    sub,
    async nextGroup(ms = 5000) {
      const read = async (): Promise<ReceivedGroup> => {
        const g = await sub.recvGroup();
        if (g === undefined) throw new Error("subscription ended");
        const frames: Uint8Array[] = [];
        for (let f = await g.readFrame(); f !== undefined; f = await g.readFrame()) frames.push(f.payload);
        return { sequence: (g as unknown as { sequence: number }).sequence, frames };
      };
      return within(read(), ms, `a group of ${path}/${trackName}`);
    },
  };
}
