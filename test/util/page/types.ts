// Typed views of the parts of @moq/net@0.3.4 the harness uses, copied in shape from its .d.ts.
// WHY: its .d.ts files import siblings without a file extension ("./track"), which NodeNext
// resolution cannot follow, so every @moq/net type (Moq.Track.Producer, Established, …) is
// silently `any` in this project. The harness casts the client's values to these at the edge.

/** A @moq/signals Getter: the current value, and change notifications. */
export interface Getter<T> {
  peek(): T;
  /** Calls `fn` on every change; returns a function that stops it. */
  subscribe(fn: (value: T) => void): () => void;
}

/** A Moq.Time.Timestamp; the harness only passes it through. */
export type Timestamp = object;

export interface Frame {
  payload: Uint8Array;
  timestamp: Timestamp;
}

export interface GroupProducer {
  readonly sequence: number;
  readonly isClosed: boolean;
  writeFrame(frame: Frame): void;
  writeString(str: string): void;
  close(abort?: Error): void;
}

export interface GroupConsumer {
  readonly sequence: number;
  readFrame(): Promise<Frame | undefined>;
  close(abort?: Error): void;
}

export interface TrackProducer {
  readonly name: string;
  /** True while at least one peer subscribes. */
  readonly used: Getter<boolean>;
  appendGroup(): GroupProducer;
  writeGroup(group: GroupProducer): void;
  close(abort?: Error): void;
}

export interface Subscription {
  priority?: number;
  ordered?: boolean;
  latencyMax?: number;
  startGroup?: number;
  endGroup?: number;
}

export interface TrackSubscriber {
  readonly name: string;
  recvGroup(): Promise<GroupConsumer | undefined>;
  close(abort?: Error): void;
}

export interface BroadcastProducer {
  /** `info` is the TRACK_INFO a moq-lite-05 publisher sends (priority, ordered, latency max, timescale). */
  createTrack(name: string, info?: { priority?: number; ordered?: boolean }): TrackProducer;
  close(abort?: Error): void;
}

export interface BroadcastConsumer {
  subscribe(name: string, options?: Subscription): TrackSubscriber;
  close(abort?: Error): void;
}

export interface AnnounceConsumer {
  next(): Promise<{ path: string; active: boolean } | undefined>;
  close(abort?: Error): void;
}

/** Moq.Connection.Established: one MoQ session, from connect() or accept(). */
export interface Connection {
  readonly url: URL;
  /** The negotiated protocol, e.g. "moq-lite-05". */
  readonly version: string;
  readonly transport: "webtransport" | "websocket";
  /** Paths are Moq.Path.Valid strings: build them with Moq.Path.from. */
  announced(prefix?: string): AnnounceConsumer;
  publish(path: string, broadcast: BroadcastProducer): void;
  consume(path: string): BroadcastConsumer;
  close(): void;
  readonly closed: Promise<void>;
}
