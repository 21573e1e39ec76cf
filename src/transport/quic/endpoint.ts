// A QUIC endpoint: one UDP socket (dual-stack for "::"), connection-id routing, server accept and
// client connect on the native quiche binding. Packets are fed to their connection as they arrive;
// each connection flushes once per event-loop turn.
//
// Admission happens before a server connection exists (admission.ts): size, version, handshake
// caps, Retry, and stateless answers.
import { createHash, randomBytes } from "node:crypto";
import { createSocket, type Socket, type SocketOptions } from "node:dgram";
import { isIPv6 } from "node:net";
import type { QuicConfig } from "../../config/types.js";
import { hostKey } from "../../util/address.js";
import type { Logger } from "../../util/log.js";
import { CID_LEN, DEFAULT_ADMISSION, QuicGate, type Admitted, type LongHeader, type QuicAdmission } from "./admission.js";
import { QuicConnection, type PacketSink } from "./connection.js";
import { loadBatchAddon, UdpSender } from "./udp-batch.js";
import { UdpReceiver } from "./udp-recv.js";
import { loadNative, type HostPort, type Native, type NativeConfig, type NativeConnection } from "./native.js";
import { resetTokenBig } from "./stateless.js";
import { initialOpens, QUIC_V1 } from "./initial.js";

export type { QuicAdmission } from "./admission.js";

export interface QuicEndpointOptions {
  host: string;
  port: number;
  /** ALPNs the server accepts, in preference order. Omit for a client-only endpoint. */
  alpns?: string[];
  cert?: { certPem: string; keyPem: string };
  /** Transport settings; admission (Retry, handshake caps) comes separately. */
  quic: Omit<QuicConfig, "retry">;
  /** Server admission; defaults to no Retry, 1024 handshakes (64 per address), 10 s each. */
  admission?: QuicAdmission;
  log: Logger;
  /** Use the native batch-send helper when it was built (default); false forces node:dgram. */
  batchSend?: boolean;
  /** Read queued datagrams with the helper's recvmmsg when it was built (default); false: node:dgram only. */
  batchRecv?: boolean;
  /** SO_REUSEPORT (Node >= 22.12): several worker threads bind the same port, the kernel keeps each flow on one. */
  reusePort?: boolean;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** SNI and the name verified against the certificate; null for an IP literal (no SNI, and BoringSSL would check the IP as a DNS name: the caller checks the IP SAN). */
  serverName: string | null;
  alpns: string[];
  /** Trust: a CA bundle (PEM), pinned SHA-256 fingerprints (hex) of the leaf, or nothing (insecure, tests). */
  caPem?: string;
  fingerprints?: string[];
  insecure?: boolean;
}

let helperNoted = false;

const peerKey = (a: HostPort): string => `${hostKey(a.host)}|${a.port}`;
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

export class QuicEndpoint implements PacketSink {
  onConnection: ((c: QuicConnection) => void) | null = null;
  private readonly routes = new Map<string, QuicConnection>();
  /** Client connections by peer address, to check unroutable datagrams for a stateless reset. */
  private readonly dialed = new Map<string, Set<QuicConnection>>();
  private serverConfig: NativeConfig | undefined;
  private local!: HostPort;
  /** The UDP send path every connection of this endpoint flushes into (set once bound). */
  udp!: UdpSender;
  /** The UDP receive path (set once bound). */
  udpIn!: UdpReceiver;
  private readonly gate: QuicGate;

  private constructor(
    private readonly native: Native,
    private readonly socket: Socket,
    private readonly opts: QuicEndpointOptions,
  ) {
    this.gate = new QuicGate(native, opts.admission ?? DEFAULT_ADMISSION, (p, to) => socket.send(p, to.port, to.host), opts.log);
  }

  static async bind(opts: QuicEndpointOptions): Promise<QuicEndpoint> {
    const native = loadNative();
    if (native === null) throw new Error("QUIC is unavailable: the optional package @matrixai/quic-linux-x64 is not installed for this platform");
    const v6 = isIPv6(opts.host);
    // `reusePort` is newer than the @types/node release in use.
    const sockOpts: SocketOptions & { reusePort?: boolean } = { type: v6 ? "udp6" : "udp4", ipv6Only: false, reuseAddr: false };
    if (opts.reusePort === true) sockOpts.reusePort = true;
    const socket = createSocket(sockOpts);
    const ep = new QuicEndpoint(native, socket, opts);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    ep.local = { host: opts.host, port: socket.address().port };
    ep.udp = new UdpSender(socket, v6, opts.batchSend === false ? null : loadBatchAddon());
    if (opts.batchSend !== false && !ep.udp.usesHelper && !helperNoted) {
      helperNoted = true;
      opts.log.info("UDP batch-send helper not built (native/build.mjs at install): QUIC sends through node:dgram");
    }
    ep.tuneBuffers();
    if (opts.alpns !== undefined && opts.cert !== undefined) ep.setCertificate(opts.cert.certPem, opts.cert.keyPem);
    ep.udpIn = new UdpReceiver(socket, opts.batchRecv === false ? null : loadBatchAddon(), (msg, from) => ep.receive(msg, from));
    socket.on("message", ep.udpIn.onMessage);
    socket.on("error", (err) => opts.log.warn({ err }, "udp socket error"));
    return ep;
  }

  get port(): number {
    return this.local.port;
  }

  /** Whether packets for `c` are still routed here (false once it is gone). */
  isRouted(c: QuicConnection): boolean {
    for (const id of c.ids) if (this.routes.get(id) === c) return true;
    return false;
  }

  get connectionCount(): number {
    return new Set(this.routes.values()).size;
  }

  /** Server connections counted as handshakes right now. */
  get handshakeCount(): number {
    return this.gate.size;
  }

  /** Counters for tests and metrics: stateless answers and refusals. */
  get stats(): QuicGate["stats"] {
    return this.gate.stats;
  }

  /** The application has what it needs from `c` (see QuicAdmission.holdUntilSettled). */
  settle(c: QuicConnection): void {
    this.gate.settle(c);
  }

  private tuneBuffers(): void {
    const want = this.opts.quic.socket_buffer;
    try {
      this.socket.setRecvBufferSize(want);
      this.socket.setSendBufferSize(want);
    } catch {
      // Some platforms refuse; the sizes below tell.
    }
    const got = Math.min(this.socket.getRecvBufferSize(), this.socket.getSendBufferSize());
    // Linux reports double the requested size; less than asked means the kernel clamped it.
    if (got < want) this.opts.log.info({ requested: want, granted: got }, "UDP socket buffers clamped by the kernel (raise net.core.rmem_max/wmem_max)");
  }

  private baseConfig(cfg: NativeConfig, alpns: string[]): NativeConfig {
    const q = this.opts.quic;
    cfg.setApplicationProtos(alpns);
    cfg.setMaxIdleTimeout(q.idle_timeout);
    cfg.setMaxRecvUdpPayloadSize(1500);
    cfg.setMaxSendUdpPayloadSize(1350);
    cfg.setInitialMaxData(q.connection_window);
    cfg.setInitialMaxStreamDataBidiLocal(q.stream_window);
    cfg.setInitialMaxStreamDataBidiRemote(q.stream_window);
    cfg.setInitialMaxStreamDataUni(q.stream_window);
    cfg.setInitialMaxStreamsBidi(q.max_streams);
    cfg.setInitialMaxStreamsUni(q.max_streams);
    cfg.setMaxStreamWindow(Math.max(q.stream_window, 16 * 1024 * 1024));
    cfg.setMaxConnectionWindow(Math.max(q.connection_window, 24 * 1024 * 1024));
    cfg.setDisableActiveMigration(true);
    cfg.enableDgram(true, 1024, 1024);
    return cfg;
  }

  /** Use this certificate for new handshakes (hot swap on renewal). */
  setCertificate(certPem: string, keyPem: string): void {
    const cfg = this.native.Config.withBoringSslCtx(false, false, null, [Buffer.from(keyPem)], [Buffer.from(certPem)], null);
    this.serverConfig = this.baseConfig(cfg, this.opts.alpns ?? []);
  }

  private receive(data: Buffer, from: HostPort): void {
    // A short-header (1-RTT) packet, nearly all traffic, starts with our own id after one byte:
    // route it without quiche's header parser, which builds a native object per packet.
    if ((data[0] & 0x80) === 0 && data.byteLength > CID_LEN) {
      const conn = this.routes.get(data.toString("hex", 1, 1 + CID_LEN));
      if (conn !== undefined) return conn.input(data, from, this.local);
    }
    let header;
    try {
      header = this.native.Header.fromSlice(data, CID_LEN);
    } catch {
      return; // not QUIC
    }
    const conn = this.routes.get(hex(header.dcid));
    if (conn !== undefined) return conn.input(data, from, this.local);
    if (header.ty === this.native.Type.Short) {
      // A stateless reset carries a random id: only its last 16 bytes tell, and quiche checks them
      // for the connections we dialed to that peer.
      const dialed = this.dialed.get(peerKey(from));
      if (dialed !== undefined) {
        for (const c of dialed) c.input(data, from, this.local);
        return;
      }
      if (this.serverConfig !== undefined) this.gate.reset(data.byteLength, header.dcid, from);
      return;
    }
    if (this.serverConfig === undefined) return;
    const admitted = this.gate.admit(data, from, header);
    if (admitted !== undefined) this.accept(data, from, header, admitted);
  }

  /** An admitted Initial: a server connection, counted as a handshake until established. */
  private accept(data: Buffer, from: HostPort, header: LongHeader, { scid, odcid, release }: Admitted): void {
    // Garbage shaped like an Initial gets no quiche connection (see initial.ts for what one costs).
    if (header.version === QUIC_V1 && !initialOpens(data)) {
      release();
      return;
    }
    const native = this.acceptNative(scid, odcid, from);
    try {
      if (native === undefined) throw new Error("refused by quiche");
      native.recv(data, { from, to: this.local });
    } catch {
      // Not a handshake quiche can use (garbage after a valid-looking header): keep nothing.
      release();
      return;
    }
    const c = new QuicConnection(native, this.native, true, from, this, this.opts.quic.keep_alive);
    c.ids.add(hex(scid));
    // Without a Retry the client keeps using its chosen id until it sees ours.
    c.ids.add(hex(header.dcid));
    for (const id of c.ids) this.routes.set(id, c);
    this.gate.hold(c, release);
    c.onEstablished = () => {
      if (this.gate.admission.holdUntilSettled !== true) this.settle(c);
      this.onConnection?.(c);
    };
    c.schedule();
  }

  /** quiche's server connection, advertising the stateless reset token for `scid` when it fits. */
  private acceptNative(scid: Uint8Array, odcid: Uint8Array | null, from: HostPort): NativeConnection | undefined {
    const cfg = this.serverConfig!;
    try {
      cfg.setStatelessResetToken(resetTokenBig(scid));
      return this.native.Connection.accept(scid, odcid, this.local, from, cfg);
    } catch {
      // After a Retry with a 20-byte original id the token no longer fits quiche's 128-byte
      // transport parameters (BufferTooShort): that connection goes without one.
    } finally {
      cfg.setStatelessResetToken(null);
    }
    try {
      return this.native.Connection.accept(scid, odcid, this.local, from, cfg);
    } catch {
      return undefined;
    }
  }

  /** Dial a QUIC server; resolves once the handshake (and any pinning check) succeeds. */
  connect(o: ConnectOptions): Promise<QuicConnection> {
    const pinned = (o.fingerprints ?? []).map((f) => f.toLowerCase().replace(/:/g, ""));
    const verify = !o.insecure;
    // With pins, let the handshake finish and compare the leaf ourselves (self-signed peers).
    const cfg = this.baseConfig(this.native.Config.withBoringSslCtx(verify, pinned.length > 0, o.caPem ? Buffer.from(o.caPem) : null, null, null, null), o.alpns);
    const scid = randomBytes(CID_LEN);
    const remote = { host: o.host, port: o.port };
    const native = this.native.Connection.connect(o.serverName, scid, this.local, remote, cfg);
    const c = new QuicConnection(native, this.native, false, remote, this, this.opts.quic.keep_alive);
    c.ids.add(hex(scid));
    this.routes.set(hex(scid), c);
    const key = peerKey(remote);
    const set = this.dialed.get(key) ?? new Set<QuicConnection>();
    set.add(c);
    this.dialed.set(key, set);
    return new Promise((resolve, reject) => {
      c.onEstablished = () => {
        if (pinned.length > 0) {
          const fp = c.peerFingerprint();
          if (fp === undefined || !pinned.includes(fp)) {
            c.close(0x128, "certificate fingerprint mismatch");
            reject(new QuicDialError(`peer certificate ${fp ?? "(none)"} does not match the pinned fingerprint`, 0x128, false));
            return;
          }
        }
        resolve(c);
      };
      c.closed.then(
        (info) => reject(new QuicDialError(`connection failed: ${info.reason || `code ${info.code}`}`, info.code, info.remote)),
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      );
      c.flush();
    });
  }

  private shut = false;

  send(packet: Uint8Array, to: HostPort): void {
    // Connections may still be draining (timers) after the socket closed: drop their packets.
    if (this.shut || this.udp.shut) return;
    this.socket.send(packet, to.port, to.host);
  }

  closed(conn: QuicConnection): void {
    for (const id of conn.ids) if (this.routes.get(id) === conn) this.routes.delete(id);
    this.settle(conn);
    if (!conn.isServer) {
      const key = peerKey(conn.remoteAddr);
      const set = this.dialed.get(key);
      set?.delete(conn);
      if (set?.size === 0) this.dialed.delete(key);
    }
  }

  async close(): Promise<void> {
    for (const c of new Set(this.routes.values())) c.close(0, "endpoint closing");
    await new Promise((r) => setTimeout(r, 20));
    this.shut = true;
    this.udp.shut = true;
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/** A dial that ended before (or during) its handshake, with the close code (0x100-0x1ff: a TLS alert). */
export class QuicDialError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly remote: boolean,
  ) {
    super(message);
  }
}

/** SHA-256 (hex) of a DER certificate, as pinned by fingerprint. */
export function fingerprint(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}
