// The one session interface every transport produces (WebTransport over HTTP/3, raw QUIC with a
// MoQ ALPN, QMux over WebSocket, the optional fails-quiche engine, a MessagePort between worker
// threads) and the MoQ layer consumes.
//
// It is callback based on purpose: the data path (a frame arriving, a frame being forwarded to a
// hundred viewers) must not allocate a promise per chunk. Handlers are plain properties that the
// consumer assigns synchronously inside the callback that hands it the stream; a transport never
// delivers data before that callback has returned, and buffers anything that arrives earlier.

export type TransportKind = "webtransport" | "quic" | "websocket" | "port";

export interface SendStream {
  /** Transport stream id (QUIC numbering). */
  readonly id: number;
  /**
   * Queue bytes for sending. The stream keeps a reference to `chunk` (no copy): callers must not
   * mutate it afterwards. Returns false once `writableLength` exceeds the high-water mark; the
   * caller should wait for `onDrain` before writing more (writes are still accepted).
   */
  write(chunk: Uint8Array): boolean;
  /** Finish the stream (FIN) after everything queued has been sent. */
  end(): void;
  /** Abort with an application error code (RESET_STREAM); queued data is discarded. */
  reset(code: number): void;
  /** Bytes queued but not yet handed to the network. */
  readonly writableLength: number;
  /** Lower value = sent earlier when several streams compete (like WebTransport sendOrder, inverted). */
  priority: number;
  /** Called when writableLength falls back under the high-water mark. */
  onDrain: (() => void) | null;
  /** Peer sent STOP_SENDING, or the session closed: the stream is dead. */
  onStop: ((code: number) => void) | null;
}

export interface RecvStream {
  readonly id: number;
  /** A chunk of stream data, in order. The chunk belongs to the receiver (it may keep it). */
  onData: ((chunk: Uint8Array) => void) | null;
  /** The peer finished the stream (FIN) and all data has been delivered. */
  onEnd: (() => void) | null;
  /** The peer reset the stream, or the session closed. */
  onReset: ((code: number) => void) | null;
  /** Stop delivering data (flow control backpressure toward the peer) until resume(). */
  pause(): void;
  resume(): void;
  /** Tell the peer we no longer want the data (STOP_SENDING). */
  stop(code: number): void;
}

export interface BidiStream {
  readonly id: number;
  readonly send: SendStream;
  readonly recv: RecvStream;
}

export interface CloseInfo {
  /** Application close code (MoQ error code), or 0 for a clean close. */
  code: number;
  reason: string;
  /** True when the peer (or the network) ended the session rather than us. */
  remote: boolean;
}

export interface Session {
  readonly transport: TransportKind;
  /** Negotiated MoQ protocol (ALPN / wt-protocol / WebSocket subprotocol's app part); "" = none. */
  readonly protocol: string;
  /** The URL the client dialed: path = auth root, `?jwt=` = token. For raw QUIC, set from SETUP. */
  url: URL;
  /** "ip:port" of the peer. */
  readonly remote: string;
  /** Largest datagram payload that can be sent, 0 if datagrams are unsupported. */
  readonly maxDatagramSize: number;
  /** The transport's current round-trip time estimate (ms), when it keeps one. */
  rtt?(): number | undefined;

  /** Peer opened a bidirectional stream. */
  onBidi: ((stream: BidiStream) => void) | null;
  /** Peer opened a unidirectional stream. */
  onUni: ((stream: RecvStream) => void) | null;
  /** A datagram arrived (already stripped of any transport prefix). */
  onDatagram: ((data: Uint8Array) => void) | null;

  /** Open a stream; waits while the peer's stream limit is exhausted. Rejects once closed. */
  openBidi(): Promise<BidiStream>;
  openUni(): Promise<SendStream>;
  /** Best effort; returns false if dropped (too large, queue full, unsupported). */
  sendDatagram(data: Uint8Array): boolean;

  /** Close the whole session with an application code and reason. Idempotent. */
  close(code: number, reason: string): void;
  /** Resolves once the session is closed, for whatever reason. Never rejects. */
  readonly closed: Promise<CloseInfo>;
}
