// A QUIC endpoint: one UDP socket (dual-stack for "::"), connection-id routing, server accept and
// client connect on the native quiche binding. Packets are fed to their connection as they arrive;
// each connection flushes once per event-loop turn.
import { createHash, randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { QuicConfig } from "../../config/types.js";
import type { Logger } from "../../util/log.js";
import { QuicConnection, type PacketSink } from "./connection.js";
import { loadNative, type HostPort, type Native, type NativeConfig } from "./native.js";
import { loadBatchAddon, UdpSender } from "./udp-batch.js";

export interface QuicEndpointOptions {
  host: string;
  port: number;
  /** ALPNs the server accepts, in preference order. Omit for a client-only endpoint. */
  alpns?: string[];
  cert?: { certPem: string; keyPem: string };
  /** Transport settings; admission (Retry, handshake caps) comes separately. */
  quic: Omit<QuicConfig, "retry">;
  log: Logger;
  /** Use the native batch-send helper when it was built (default); false forces node:dgram. */
  batchSend?: boolean;
}

export interface ConnectOptions {
  host: string;
  port: number;
  serverName: string;
  alpns: string[];
  /** Trust: a CA bundle (PEM), pinned SHA-256 fingerprints (hex) of the leaf, or nothing (insecure, tests). */
  caPem?: string;
  fingerprints?: string[];
  insecure?: boolean;
}

let helperNoted = false;

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

export class QuicEndpoint implements PacketSink {
  onConnection: ((c: QuicConnection) => void) | null = null;
  private readonly routes = new Map<string, QuicConnection>();
  private serverConfig: NativeConfig | undefined;
  private local!: HostPort;
  /** The UDP send path every connection of this endpoint flushes into (set once bound). */
  udp!: UdpSender;

  private constructor(
    private readonly native: Native,
    private readonly socket: Socket,
    private readonly opts: QuicEndpointOptions,
  ) {}

  static async bind(opts: QuicEndpointOptions): Promise<QuicEndpoint> {
    const native = loadNative();
    if (native === null) throw new Error("QUIC is unavailable: the optional package @matrixai/quic-linux-x64 is not installed for this platform");
    const v6 = isIPv6(opts.host);
    const socket = createSocket({ type: v6 ? "udp6" : "udp4", ipv6Only: false, reuseAddr: false });
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
    socket.on("message", (msg, rinfo) => ep.receive(msg, { host: rinfo.address, port: rinfo.port }));
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
    let header;
    try {
      header = this.native.Header.fromSlice(data, this.native.MAX_CONN_ID_LEN);
    } catch {
      return; // not QUIC
    }
    const conn = this.routes.get(hex(header.dcid));
    if (conn !== undefined) return conn.input(data, from, this.local);
    if (this.serverConfig === undefined || header.ty !== this.native.Type.Initial) return;
    if (!this.native.versionIsSupported(header.version)) {
      const out = Buffer.allocUnsafe(1350);
      const n = this.native.negotiateVersion(header.scid, header.dcid, out);
      this.socket.send(out.subarray(0, n), from.port, from.host);
      return;
    }
    const scid = randomBytes(this.native.MAX_CONN_ID_LEN);
    const native = this.native.Connection.accept(scid, null, this.local, from, this.serverConfig);
    const c = new QuicConnection(native, this.native, true, from, this, this.opts.quic.keep_alive);
    c.ids.add(hex(scid));
    // The client keeps using its chosen id until it sees ours.
    c.ids.add(hex(header.dcid));
    for (const id of c.ids) this.routes.set(id, c);
    c.onEstablished = () => this.onConnection?.(c);
    c.input(data, from, this.local);
  }

  /** Dial a QUIC server; resolves once the handshake (and any pinning check) succeeds. */
  connect(o: ConnectOptions): Promise<QuicConnection> {
    const pinned = (o.fingerprints ?? []).map((f) => f.toLowerCase().replace(/:/g, ""));
    const verify = !o.insecure;
    // With pins, let the handshake finish and compare the leaf ourselves (self-signed peers).
    const cfg = this.baseConfig(this.native.Config.withBoringSslCtx(verify, pinned.length > 0, o.caPem ? Buffer.from(o.caPem) : null, null, null, null), o.alpns);
    const scid = randomBytes(this.native.MAX_CONN_ID_LEN);
    const remote = { host: o.host, port: o.port };
    const native = this.native.Connection.connect(o.serverName, scid, this.local, remote, cfg);
    const c = new QuicConnection(native, this.native, false, remote, this, this.opts.quic.keep_alive);
    c.ids.add(hex(scid));
    this.routes.set(hex(scid), c);
    return new Promise((resolve, reject) => {
      c.onEstablished = () => {
        if (pinned.length > 0) {
          const fp = c.peerFingerprint();
          if (fp === undefined || !pinned.includes(fp)) {
            c.close(0x128, "certificate fingerprint mismatch");
            reject(new Error(`peer certificate ${fp ?? "(none)"} does not match the pinned fingerprint`));
            return;
          }
        }
        resolve(c);
      };
      c.closed.then(
        (info) => reject(new Error(`connection failed: ${info.reason || `code ${info.code}`}`)),
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
  }

  async close(): Promise<void> {
    for (const c of new Set(this.routes.values())) c.close(0, "endpoint closing");
    await new Promise((r) => setTimeout(r, 20));
    this.shut = true;
    this.udp.shut = true;
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/** SHA-256 (hex) of a DER certificate, as pinned by fingerprint. */
export function fingerprint(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}
