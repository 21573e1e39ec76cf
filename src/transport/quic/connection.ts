// One QUIC connection driven from JS: packets in via `input`, then once per event-loop turn a
// flush that reads readable streams, writes pending ones and drains quiche's packets to the socket.
// One timer per connection follows quiche's timeout. It implements the Session contract directly,
// which is what raw-QUIC MoQ sessions use; the HTTP/3 layer uses the same streams underneath.
//
// At ~1 Gb/s the binding's send() alone costs several µs per packet, so the work around it skips
// native calls that cannot change anything: streams are read only after packets arrived (or a
// paused stream resumed), and more bytes for a stream quiche refused do not schedule a flush.
import { createHash } from "node:crypto";
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session } from "../session.js";
import type { HostPort, Native, NativeConnection } from "./native.js";
import { closeInfoOf, streamErrorCode } from "./native.js";
import { QuicRecvHalf, QuicSendHalf, type StreamHost } from "./stream.js";
import { StreamIds } from "./stream-ids.js";
import { flushQueue, type Flushable } from "./flush-queue.js";
import { Deadline } from "./deadline.js";
import { Urgencies } from "./urgency.js";
import { BATCH_PACKETS, type UdpSender } from "./udp-batch.js";

export interface PacketSink {
  /** The endpoint's socket writer: packets are written into its buffer and sent in batches. */
  readonly udp: UdpSender;
  /** The connection is gone: forget its ids. */
  closed(conn: QuicConnection): void;
}

const READ_BUF = Buffer.allocUnsafe(1 << 20); // reused for every stream read
const EMPTY = new Uint8Array(0);

export class QuicConnection implements Session, StreamHost, Flushable {
  readonly transport = "quic" as const;
  protocol = "";
  url: URL;
  onBidi: ((stream: BidiStream) => void) | null = null;
  onUni: ((stream: RecvStream) => void) | null = null;
  onDatagram: ((data: Uint8Array) => void) | null = null;
  /** Called once the handshake completes (ALPN known). */
  onEstablished: (() => void) | null = null;
  readonly closed: Promise<CloseInfo>;
  /** Ids this connection is routed by (hex), for the endpoint's map. */
  readonly ids = new Set<string>();

  private readonly recvs = new Map<number, QuicRecvHalf>();
  private readonly sends = new Map<number, QuicSendHalf>();
  private readonly pending = new Set<QuicSendHalf>();
  private readonly urgencies: Urgencies;
  private readonly streamIds: StreamIds;
  private scheduled = false;
  private readonly pendingStops = new Map<number, number>();
  private readonly deadline: Deadline;
  private recvInfo: { from: HostPort; to: HostPort } | undefined;
  /** Packets arrived (or a paused stream resumed) since streams were last read. */
  private readDue = true;
  /** Every pending stream was refused by quiche (no credit) in the last write pass. */
  private writeBlocked = false;
  private established = false;
  private finished = false;
  private closeInfo: CloseInfo | undefined;
  private resolveClosed!: (c: CloseInfo) => void;
  private readonly keepAlive: NodeJS.Timeout | undefined;
  private lastActivity = Date.now();

  constructor(
    readonly conn: NativeConnection,
    private readonly native: Native,
    readonly isServer: boolean,
    readonly remoteAddr: HostPort,
    private readonly sink: PacketSink,
    keepAliveMs: number,
  ) {
    this.streamIds = new StreamIds(conn, isServer);
    this.urgencies = new Urgencies(conn);
    this.deadline = new Deadline(conn, () => {
      if (this.finished) return;
      conn.onTimeout();
      // Losses declared or a probe due: blocked streams may move.
      this.writeBlocked = false;
      this.flush();
    });
    this.url = new URL(`moqt://${remoteAddr.host.includes(":") ? `[${remoteAddr.host}]` : remoteAddr.host}/`);
    this.closed = new Promise((r) => (this.resolveClosed = r));
    if (keepAliveMs > 0) {
      this.keepAlive = setInterval(() => {
        if (this.established && Date.now() - this.lastActivity >= keepAliveMs) {
          this.conn.sendAckEliciting();
          this.schedule();
        }
      }, keepAliveMs);
      this.keepAlive.unref();
    }
  }

  get remote(): string {
    return `${this.remoteAddr.host}:${this.remoteAddr.port}`;
  }

  get maxDatagramSize(): number {
    return this.conn.dgramMaxWritableLen() ?? 0;
  }

  /** quiche's smoothed RTT estimate on the active path (ms). */
  rtt(): number | undefined {
    if (this.finished) return undefined;
    for (const p of this.conn.pathStats()) if (p.active) return p.rtt;
    return undefined;
  }

  /** SHA-256 (hex) of the peer's leaf certificate, if it sent one. */
  peerFingerprint(): string | undefined {
    const chain = this.conn.peerCertChain();
    return chain && chain.length > 0 ? createHash("sha256").update(chain[0]).digest("hex") : undefined;
  }

  /** A datagram from the socket for this connection. */
  input(packet: Uint8Array, from: HostPort, to: HostPort): void {
    if (this.finished) return;
    try {
      // The receive path hands the same address object for every datagram from a known peer.
      if (this.recvInfo?.from !== from || this.recvInfo.to !== to) this.recvInfo = { from, to };
      this.conn.recv(packet, this.recvInfo);
    } catch {
      // quiche already decided what to do (close, ignore); the flush sends it.
    }
    this.lastActivity = Date.now();
    // An ACK or a window update may let blocked streams write; new stream data must be read.
    this.readDue = true;
    this.writeBlocked = false;
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled || this.finished) return;
    this.scheduled = true;
    flushQueue.add(this);
  }

  flushQueued(): void {
    this.scheduled = false;
    this.flush();
  }

  markPending(s: QuicSendHalf): void {
    // More bytes for a stream quiche just refused: nothing can move until packets arrive or the
    // timer fires, and both flush anyway.
    if (this.writeBlocked && this.pending.has(s)) return;
    this.writeBlocked = false;
    this.pending.add(s);
    this.schedule();
  }

  resumed(): void {
    this.readDue = true;
    this.schedule();
  }

  reranked(s: QuicSendHalf): void {
    this.urgencies.reranked(s);
    this.schedule();
  }

  shutdown(id: number, direction: "read" | "write", code: number): void {
    if (direction === "write") {
      // A stream reset before any byte was sent does not exist in quiche yet: create it first so
      // the peer still sees the RESET_STREAM (and the stream) rather than nothing at all.
      try {
        this.conn.streamSend(id, new Uint8Array(0), false);
      } catch {
        // Already exists, finished or stopped.
      }
    }
    // Our own stream that quiche has not seen yet (it answers Done, or throws): stop it once the
    // first write creates it.
    let applied = false;
    try {
      applied = this.conn.streamShutdown(id, direction === "read" ? this.native.Shutdown.Read : this.native.Shutdown.Write, code) !== null;
    } catch {
      applied = false;
    }
    if (!applied && direction === "read" && !this.isPeerStream(id)) this.pendingStops.set(id, code);
    if (direction === "write") this.pending.forEach((s) => s.id === id && this.pending.delete(s));
    this.schedule();
  }

  /** The per-turn work: handshake state, reads, writes, datagrams, packets out, timer. */
  flush(): void {
    if (this.finished) return;
    const c = this.conn;
    if (!this.established && c.isEstablished()) {
      this.established = true;
      this.protocol = Buffer.from(c.applicationProto()).toString("utf8");
      this.onEstablished?.();
    }
    if (this.established) {
      // isReadable() is a plain boolean; readable() builds a native iterator object every call.
      if (this.readDue) {
        this.readDue = false;
        if (c.isReadable()) {
          this.readStreams();
          for (let d = c.dgramRecvVec(); d !== null; d = c.dgramRecvVec()) this.onDatagram?.(d);
        }
      }
      if (this.urgencies.due) this.urgencies.assign();
      if (this.pending.size > 0) this.writeStreams();
      this.streamIds.wake();
    }
    // Packets go into the endpoint's shared buffer, one slot each, then out in batches: no
    // allocation per packet here, and one socket call per batch with the native helper.
    const udp = this.sink.udp;
    let count = 0;
    for (;;) {
      if (count === BATCH_PACKETS) {
        udp.flush(count, this.remoteAddr);
        count = 0;
      }
      let r: ReturnType<NativeConnection["send"]>;
      try {
        r = c.send(udp.slots[count]);
      } catch {
        break;
      }
      if (r === null) break;
      udp.lengths[count++] = r[0];
    }
    udp.flush(count, this.remoteAddr);
    if (c.isClosed()) return this.finish();
    this.deadline.arm(c.timeout());
  }

  private isPeerStream(id: number): boolean {
    return (id & 1) === (this.isServer ? 0 : 1);
  }

  private readStreams(): void {
    const c = this.conn;
    for (const id of c.readable()) {
      let r = this.recvs.get(id);
      if (r === undefined) {
        if (!this.isPeerStream(id)) continue;
        r = this.acceptPeerStream(id);
      }
      if (r.paused || r.done) continue;
      for (;;) {
        let res: [number, boolean] | null;
        try {
          res = c.streamRecv(id, READ_BUF);
        } catch (e) {
          const code = streamErrorCode(e, "StreamReset");
          this.recvs.delete(id);
          r.resetBy(code ?? 0);
          break;
        }
        if (res === null) break;
        const [n, fin] = res;
        if (n > 0) r.onData?.(Uint8Array.prototype.slice.call(READ_BUF, 0, n));
        if (fin) {
          this.recvs.delete(id);
          r.finished();
          break;
        }
        if (r.paused || r.done) break;
      }
    }
  }

  private acceptPeerStream(id: number): QuicRecvHalf {
    const recv = new QuicRecvHalf(id, this);
    this.recvs.set(id, recv);
    if ((id & 2) === 0) {
      const send = new QuicSendHalf(id, this);
      this.sends.set(id, send);
      this.onBidi?.({ id, send, recv });
    } else {
      this.onUni?.(recv);
    }
    return recv;
  }

  private writeStreams(): void {
    const c = this.conn;
    // When credit is short, whoever is handed to quiche first takes it: go by urgency, so a
    // low-priority stream queued earlier cannot starve a high-priority one of flow control.
    let order: Iterable<QuicSendHalf> = this.pending;
    if (this.pending.size > 1) {
      const list = [...this.pending];
      let mixed = false;
      for (let i = 1; i < list.length && !mixed; i++) mixed = list[i].urgency !== list[0].urgency;
      if (mixed) order = list.sort((a, b) => a.urgency - b.urgency);
    }
    let refused = 0;
    for (const s of order) {
      // Refused last time: ask for credit first. A refused streamSend is not free: under
      // connection flow control quiche answers each one with a DATA_BLOCKED frame, and the
      // peer's ACK of it would bring the next attempt.
      if (s.refused && this.noCredit(s)) {
        refused++;
        continue;
      }
      let blocked = false;
      while (s.queue.length > 0 && !s.dead) {
        const head = s.queue[0];
        const chunk = s.offset > 0 ? head.subarray(s.offset) : head;
        const last = s.queue.length === 1 && s.fin;
        let n: number | null;
        try {
          n = c.streamSend(s.id, chunk, last);
        } catch (e) {
          s.stopped(streamErrorCode(e, "StreamStopped") ?? 0);
          this.sends.delete(s.id);
          break;
        }
        if (n === null || n === 0) {
          blocked = true; // no credit (flow control or congestion window): wait for packets in
          break;
        }
        s.consumed(n);
        s.known = true;
        if (s.applied !== s.urgency) this.urgencies.apply(s);
        const stop = this.pendingStops.get(s.id);
        if (stop !== undefined) {
          this.pendingStops.delete(s.id);
          this.shutdown(s.id, "read", stop);
        }
        if (n < chunk.byteLength) {
          s.offset += n;
          blocked = true;
          break;
        }
        s.queue.shift();
        s.offset = 0;
        if (last) s.finSent = true;
      }
      if (s.queue.length === 0 && s.fin && !s.finSent && !s.dead) {
        try {
          if (c.streamSend(s.id, EMPTY, true) !== null) s.finSent = true;
          else blocked = true;
        } catch (e) {
          s.stopped(streamErrorCode(e, "StreamStopped") ?? 0);
        }
      }
      if (s.dead || (s.queue.length === 0 && (!s.fin || s.finSent))) {
        this.pending.delete(s);
        if (s.finSent || s.dead) this.sends.delete(s.id);
      } else if (blocked) refused++;
      s.refused = blocked;
    }
    // Streams queued during the pass (a drain callback) were not tried, so they count as open.
    this.writeBlocked = refused > 0 && refused === this.pending.size;
    this.streamIds.written();
  }

  /** quiche reports no send capacity for `s` (a stopped or collected stream reports through streamSend). */
  private noCredit(s: QuicSendHalf): boolean {
    try {
      return this.conn.streamCapacity(s.id) === 0;
    } catch {
      return false;
    }
  }

  private openId(uni: boolean): Promise<number> {
    if (this.finished) return Promise.reject(new Error("connection closed"));
    return this.streamIds.open(uni, this.established, () => this.schedule());
  }

  async openBidi(): Promise<BidiStream> {
    const id = await this.openId(false);
    const send = new QuicSendHalf(id, this);
    const recv = new QuicRecvHalf(id, this);
    this.sends.set(id, send);
    this.recvs.set(id, recv);
    return { id, send, recv };
  }

  async openUni(): Promise<SendStream> {
    const id = await this.openId(true);
    const send = new QuicSendHalf(id, this);
    this.sends.set(id, send);
    return send;
  }

  sendDatagram(data: Uint8Array): boolean {
    try {
      this.conn.dgramSend(data);
    } catch {
      return false;
    }
    this.schedule();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closeInfo !== undefined || this.finished) return;
    this.closeInfo = { code, reason, remote: false };
    try {
      this.conn.close(true, code, Buffer.from(reason));
    } catch {
      // Already closing.
    }
    this.flush();
  }

  /** Tear down after quiche reports the connection closed (drained, timed out or refused). */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.deadline.clear();
    clearInterval(this.keepAlive);
    const info = this.closeInfo ?? closeInfoOf(this.conn);
    this.streamIds.fail(new Error("connection closed"));
    for (const r of this.recvs.values()) r.resetBy(info.code);
    for (const s of this.sends.values()) s.stopped(info.code);
    this.recvs.clear();
    this.sends.clear();
    this.pending.clear();
    this.sink.closed(this);
    this.resolveClosed(info);
  }
}
