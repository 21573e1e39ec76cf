// Platform-neutral helpers over the real @moq/net client. The Node harness (../moq.ts) and the
// Chromium page (./moq-page.ts) both use this file, so the two drive the client the same way.
// Every wait is bounded and rejects with a message naming what it waited for.
import * as Moq from "@moq/net";
import QmuxSession from "@moq/qmux";
import type { BroadcastProducer, Connection, GroupProducer, TrackProducer } from "./types.js";
import { DEFAULT_TIMEOUT_MS, describeError, waitUntil, within } from "./wait.js";

export type * from "./types.js";
export { DEFAULT_TIMEOUT_MS, describeError, waitUntil, Waiters, within } from "./wait.js";

/** A MoQ session (Moq.Connection.Established): `version`, `transport`, `close()`, `closed`. */
export type Conn = Connection;

/** The subset of Moq.Connection.ConnectProps the harness passes. */
export interface ConnectProps {
  webtransport?: { serverCertificateHashes?: { value: string }[]; protocols?: string[] };
  websocket?: { enabled?: boolean; delay?: number };
}

export interface CoreConnectOptions {
  /**
   * Pin one protocol over QMux/WebSocket: a bare ALPN ("moq-lite-04", "moql", "moqt-16") offered
   * on every qmux wire version, or an exact pair ("qmux-00.moq-lite-05") to pin the wire version
   * too. The client then offers nothing else, so the server must accept exactly that.
   */
  protocol?: string;
  timeoutMs?: number;
  /** Extra @moq/net connect options (ignored with `protocol`, which supplies its own transport). */
  props?: ConnectProps;
}

/** Connect with the real client; a pinned protocol goes through a prebuilt @moq/qmux transport. */
export async function connectMoq(url: URL, opts: CoreConnectOptions = {}): Promise<Conn> {
  const ms = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const abort = new AbortController();
  const { protocol } = opts;
  if (protocol === undefined) {
    const what = `a MoQ connection to ${url.href}`;
    const pending: Promise<Conn> = Moq.Connection.connect(url, { ...opts.props, signal: abort.signal });
    return within(pending, ms, what, () => abort.abort()).catch(failed(url));
  }
  const pair = /^qmux-\d+\./.test(protocol);
  // Session maps http(s) to ws(s) itself, keeping host, port, path and query.
  const transport = new QmuxSession(url, { protocols: [protocol], versions: pair ? {} : { [protocol]: null }, requireProtocol: true });
  try {
    await within(transport.ready, ms, `the WebSocket handshake offering only ${protocol} to ${url.href}`);
    const pending: Promise<Conn> = Moq.Connection.connect(url, { transport, signal: abort.signal });
    return await within(pending, ms, `a ${protocol} session with ${url.href}`, () => abort.abort());
  } catch (err) {
    transport.close();
    return failed(url)(err);
  }
}

// The client reports a refused upgrade as "All promises were rejected"; name the URL and causes.
function failed(url: URL): (err: unknown) => never {
  return (err) => {
    const causes = err instanceof AggregateError ? err.errors : [err];
    throw new Error(`connect to ${url.href} failed: ${causes.map(describeError).join("; ")}`, { cause: err });
  };
}

// ---- publishing --------------------------------------------------------------------------

export type FrameInput = Uint8Array | string;

export interface GroupOptions {
  /** Leave the group open (write more with the returned producer, then close it). */
  keepOpen?: boolean;
  /** Use this group sequence instead of the next one (gaps are allowed, duplicates throw). */
  sequence?: number;
}

const encoder = new TextEncoder();

export function toBytes(frame: FrameInput): Uint8Array {
  return typeof frame === "string" ? encoder.encode(frame) : frame;
}

/** Append frames to a group (e.g. one left open with `keepOpen`), stamped now. */
export function writeFrames(group: GroupProducer, frames: readonly FrameInput[]): void {
  for (const f of frames) group.writeFrame({ payload: toBytes(f), timestamp: Moq.Time.Timestamp.now() });
}

/** Writes groups to one track of a broadcast. */
export class TrackWriter {
  readonly name: string;
  /** The client's own track producer, for anything the helpers do not cover. */
  readonly track: TrackProducer;

  constructor(track: TrackProducer) {
    this.name = track.name;
    this.track = track;
  }

  /** Write one group of frames, closed unless `keepOpen` (a bare `true` means the same). */
  group(frames: readonly FrameInput[], opts: GroupOptions | boolean = {}): GroupProducer {
    const { keepOpen = false, sequence } = typeof opts === "boolean" ? { keepOpen: opts } : opts;
    let g: GroupProducer;
    if (sequence === undefined) g = this.track.appendGroup();
    else {
      g = new Moq.Group.Producer(sequence);
      this.track.writeGroup(g);
    }
    writeFrames(g, frames);
    if (!keepOpen) g.close();
    return g;
  }

  /**
   * Resolve once a peer subscribes to this track. moq-lite delivers a live track from its newest
   * group, so tests await this before writing instead of sleeping.
   */
  waitSubscribed(ms = DEFAULT_TIMEOUT_MS): Promise<void> {
    return waitUntil(this.track.used, (used) => used, ms, `a subscriber to track ${this.name}`).then(() => undefined);
  }

  /** Resolve once no peer subscribes to this track any more. */
  waitUnsubscribed(ms = DEFAULT_TIMEOUT_MS): Promise<void> {
    return waitUntil(this.track.used, (used) => !used, ms, `track ${this.name} to lose its subscribers`).then(() => undefined);
  }

  close(): void {
    this.track.close();
  }
}

/** A broadcast announced on a connection; add tracks with `track(name)`. */
export class BroadcastWriter {
  readonly path: string;
  readonly broadcast: BroadcastProducer;

  constructor(path: string, broadcast: BroadcastProducer = new Moq.Broadcast.Producer()) {
    this.path = path;
    this.broadcast = broadcast;
  }

  track(name: string): TrackWriter {
    return new TrackWriter(this.broadcast.createTrack(name));
  }

  /** Ends the broadcast, which unannounces it. */
  close(): void {
    this.broadcast.close();
  }
}

/** Announce a broadcast at `path` (relative to the connection URL's path) on `conn`. */
export function publishBroadcast(conn: Conn, path: string): BroadcastWriter {
  const writer = new BroadcastWriter(path);
  conn.publish(Moq.Path.from(path), writer.broadcast);
  return writer;
}

/** One broadcast with one track: the common case. `close()` ends the whole broadcast. */
export class Publisher extends TrackWriter {
  readonly path: string;
  readonly broadcast: BroadcastProducer;

  constructor(writer: BroadcastWriter, trackName: string) {
    super(writer.broadcast.createTrack(trackName));
    this.path = writer.path;
    this.broadcast = writer.broadcast;
  }

  override close(): void {
    this.track.close();
    this.broadcast.close();
  }
}

export function publish(conn: Conn, path: string, trackName: string): Publisher {
  return new Publisher(publishBroadcast(conn, path), trackName);
}

export { Announcements, watchAnnounced, waitAnnounced, type AnnounceEvent } from "./announced.js";
export { Reader, subscribe, type ReceivedFrame, type ReceivedGroup, type SubscribeOptions } from "./reader.js";
