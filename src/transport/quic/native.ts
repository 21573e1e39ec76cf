// The native quiche binding shipped by @matrixai/quic-linux-x64 (a prebuilt N-API module from
// npm, no GitHub download). We drive it directly: the package's own JS classes cost a promise per
// chunk and move ~1.6 MB/s; the binding itself is fast, so the glue here decides the speed.
// Only the surface we use is typed. The package is optional: without it the relay serves TCP only.
import { createRequire } from "node:module";
import type { CloseInfo } from "../session.js";

export interface HostPort {
  host: string;
  port: number;
}

export interface NativeConfig {
  setApplicationProtos(protos: string[]): void;
  setMaxIdleTimeout(ms: number): void;
  setMaxRecvUdpPayloadSize(n: number): void;
  setMaxSendUdpPayloadSize(n: number): void;
  setInitialMaxData(n: number): void;
  setInitialMaxStreamDataBidiLocal(n: number): void;
  setInitialMaxStreamDataBidiRemote(n: number): void;
  setInitialMaxStreamDataUni(n: number): void;
  setInitialMaxStreamsBidi(n: number): void;
  setInitialMaxStreamsUni(n: number): void;
  setDisableActiveMigration(v: boolean): void;
  enableDgram(enabled: boolean, recvQueue: number, sendQueue: number): void;
  setMaxStreamWindow(n: number): void;
  setMaxConnectionWindow(n: number): void;
  setCcAlgorithmName(name: string): void;
  /** The stateless reset token advertised to the next connection accepted with this config. */
  setStatelessResetToken(token: bigint | null): void;
  grease(v: boolean): void;
}

export interface NativeConnectionError {
  isApp: boolean;
  errorCode: number;
  reason: Uint8Array;
}

export interface NativeConnection {
  recv(data: Uint8Array, info: { from: HostPort; to: HostPort }): number;
  send(out: Uint8Array): [number, { from: HostPort; to: HostPort }] | null;
  streamRecv(id: number, out: Uint8Array): [number, boolean] | null;
  streamSend(id: number, data: Uint8Array, fin: boolean): number | null;
  streamPriority(id: number, urgency: number, incremental: boolean): void;
  streamShutdown(id: number, direction: number, code: number): void | null;
  streamFinished(id: number): boolean;
  /** Send capacity; throws once quiche has collected the stream (or it is stopped). */
  streamCapacity(id: number): number;
  peerStreamsLeftBidi(): number;
  peerStreamsLeftUni(): number;
  /** Any stream readable or datagram queued (a boolean, unlike readable()'s iterator object). */
  isReadable(): boolean;
  readable(): Iterable<number>;
  writable(): Iterable<number>;
  dgramSend(data: Uint8Array): void | null;
  dgramRecvVec(): Uint8Array | null;
  dgramMaxWritableLen(): number | null;
  timeout(): number | null;
  onTimeout(): void;
  close(app: boolean, code: number, reason: Uint8Array): void | null;
  applicationProto(): Uint8Array;
  serverName(): string | null;
  peerCertChain(): Uint8Array[] | null;
  isEstablished(): boolean;
  isClosed(): boolean;
  isDraining(): boolean;
  isTimedOut(): boolean;
  peerError(): NativeConnectionError | null;
  localError(): NativeConnectionError | null;
  sendAckEliciting(): void;
  /** Per-path statistics; `rtt` is quiche's smoothed estimate in ms. */
  pathStats(): Iterable<{ active: boolean; rtt: number }>;
}

export interface Native {
  MAX_CONN_ID_LEN: number;
  PROTOCOL_VERSION: number;
  Shutdown: { Read: number; Write: number };
  Type: { Initial: number; Retry: number; Handshake: number; ZeroRTT: number; Short: number; VersionNegotiation: number };
  negotiateVersion(scid: Uint8Array, dcid: Uint8Array, out: Uint8Array): number;
  retry(scid: Uint8Array, dcid: Uint8Array, newScid: Uint8Array, token: Uint8Array, version: number, out: Uint8Array): number;
  versionIsSupported(v: number): boolean;
  Config: {
    withBoringSslCtx(verifyPeer: boolean, verifyAllowFail: boolean, ca: Uint8Array | null, key: Uint8Array[] | null, cert: Uint8Array[] | null, sigalgs: string | null): NativeConfig;
  };
  Connection: {
    connect(serverName: string | null, scid: Uint8Array, local: HostPort, remote: HostPort, config: NativeConfig): NativeConnection;
    accept(scid: Uint8Array, odcid: Uint8Array | null, local: HostPort, remote: HostPort, config: NativeConfig): NativeConnection;
  };
  Header: { fromSlice(data: Uint8Array, dcidLen: number): { ty: number; version: number; dcid: Uint8Array; scid: Uint8Array; token: Uint8Array | null; versions: number[] | null } };
}

let cached: Native | null | undefined;

/** The binding, or null when the optional package is not installed for this platform. */
export function loadNative(): Native | null {
  if (cached !== undefined) return cached;
  try {
    cached = createRequire(import.meta.url)("@matrixai/quic-linux-x64") as Native;
  } catch {
    cached = null;
  }
  return cached;
}

/** quiche reports stream resets/stops as errors named like "StreamReset(42)". */
export function streamErrorCode(e: unknown, kind: "StreamReset" | "StreamStopped"): number | undefined {
  const m = e instanceof Error ? new RegExp(`${kind}\\((\\d+)\\)`).exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * Why quiche closed a connection we did not close ourselves: the peer's error, else quiche's own
 * verdict (e.g. a TLS alert: 0x100 + alert, 0x130 = unknown CA; a dialer must tell a certificate
 * refused from a peer that never answered), else the idle timeout.
 */
export function closeInfoOf(conn: NativeConnection): CloseInfo {
  const peer = conn.peerError();
  if (peer !== null) return { code: peer.errorCode, reason: Buffer.from(peer.reason).toString("utf8"), remote: true };
  const local = conn.localError();
  if (local !== null && local.errorCode !== 0) {
    return { code: local.errorCode, reason: Buffer.from(local.reason).toString("utf8") || `${local.isApp ? "application" : "transport"} error 0x${local.errorCode.toString(16)}`, remote: false };
  }
  const timedOut = conn.isTimedOut();
  return { code: timedOut ? 3 : 0, reason: timedOut ? "idle timeout" : "closed", remote: true };
}
