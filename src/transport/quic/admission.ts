// Admission for a QUIC server, before a connection exists: Initials in datagrams under 1200 bytes
// are dropped, unknown versions get Version Negotiation, handshakes are capped in total and per
// address (with a deadline), and under load (or always) a stateless Retry makes the client prove
// its address first. Packets for connections we do not know get a stateless reset. Every
// stateless answer is rate-limited, so the endpoint cannot be used to amplify a flood.
import { randomBytes } from "node:crypto";
import { hostKey } from "../../util/address.js";
import type { Logger } from "../../util/log.js";
import { AddressLimiter, RefusalLog, type Release } from "../limiter.js";
import type { QuicConnection } from "./connection.js";
import type { HostPort, Native } from "./native.js";
import { Budget, checkRetryToken, mintRetryToken, statelessReset } from "./stateless.js";

/** Who may start a handshake, and for how long. */
export interface QuicAdmission {
  /** Stateless Retry before a handshake: "auto" once half of maxHandshakes are in progress. */
  retry: "auto" | "never" | "always";
  /** Connections in their handshake at once, and from one address (0 = unlimited). */
  maxHandshakes: number;
  maxHandshakesPerAddress: number;
  /** A connection still in its handshake (see holdUntilSettled) after this long is closed (ms). */
  handshakeTimeout: number;
  /**
   * Count an established connection as a handshake until the application calls settle() (e.g.
   * an HTTP/3 connection until its first session), so those too are capped and timed.
   */
  holdUntilSettled?: boolean;
}

export const DEFAULT_ADMISSION: QuicAdmission = { retry: "never", maxHandshakes: 1024, maxHandshakesPerAddress: 64, handshakeTimeout: 10_000 };
/** RFC 9000 §14.1: a client's Initial comes in a datagram of at least 1200 bytes. */
const MIN_INITIAL_DATAGRAM = 1200;
/**
 * Our connection ids (client and server alike, so short headers parse the same in both roles).
 * 16 random bytes, not quiche's maximum of 20: quiche encodes its transport parameters into 128
 * bytes, and after a Retry three ids plus the reset token must fit there.
 */
export const CID_LEN = 16;
/** Stateless answers (Retry, Version Negotiation, reset) per second. */
const STATELESS_RATE = 2000;

/** What admission reads of a long header. */
export interface LongHeader {
  ty: number;
  version: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  token?: Uint8Array | null;
}

/** An Initial let in: the ids to accept it with, and its handshake slot. */
export interface Admitted {
  scid: Uint8Array;
  /** The id the client first chose, when it comes back after our Retry. */
  odcid: Uint8Array | null;
  release: Release;
}

export class QuicGate {
  /** Counters for tests and metrics. */
  readonly stats = { retries: 0, versionNegotiations: 0, resets: 0, refused: 0, tooSmall: 0, invalidTokens: 0 };
  private readonly handshakes: AddressLimiter;
  /** Server connections still counted as handshakes: their slot and deadline. */
  private readonly pending = new Map<QuicConnection, { release: Release; timer: NodeJS.Timeout }>();
  private readonly budget = new Budget(STATELESS_RATE);
  private readonly refusals: RefusalLog;

  constructor(
    private readonly native: Native,
    readonly admission: QuicAdmission,
    /** Send a stateless answer. */
    private readonly send: (packet: Uint8Array, to: HostPort) => void,
    private readonly log: Logger,
  ) {
    this.handshakes = new AddressLimiter(admission.maxHandshakes, admission.maxHandshakesPerAddress);
    this.refusals = new RefusalLog((n) => log.warn({ refused: n, handshakes: this.handshakes.size, transport: "quic" }, "QUIC handshakes refused: handshake limit reached"));
  }

  /** Server connections counted as handshakes right now. */
  get size(): number {
    return this.handshakes.size;
  }

  /**
   * A long-header datagram for no connection we know: answered statelessly or dropped
   * (undefined), or admitted as a new handshake.
   */
  admit(data: Buffer, from: HostPort, header: LongHeader): Admitted | undefined {
    if (header.ty === this.native.Type.VersionNegotiation) return;
    // Too small to start a connection: answering would amplify whatever sent it.
    if (data.byteLength < MIN_INITIAL_DATAGRAM) {
      this.stats.tooSmall++;
      return;
    }
    if (!this.native.versionIsSupported(header.version)) {
      if (!this.budget.take()) return;
      const out = Buffer.allocUnsafe(1350);
      const n = this.native.negotiateVersion(header.scid, header.dcid, out);
      this.stats.versionNegotiations++;
      this.send(out.subarray(0, n), from);
      return;
    }
    if (header.ty !== this.native.Type.Initial) return;
    const address = hostKey(from.host);
    const a = this.admission;
    let odcid: Uint8Array | null = null;
    let scid: Uint8Array;
    const token = header.token ?? null;
    if (token !== null && token.byteLength > 0) {
      // A token can only be ours from a Retry: it must vouch for this address, recently.
      odcid = checkRetryToken(token, address, Math.min(a.handshakeTimeout, 30_000)) ?? null;
      if (odcid === null) {
        this.stats.invalidTokens++;
        return;
      }
      // The client now addresses us by the id our Retry chose; keep it.
      scid = header.dcid;
    } else {
      const retry = a.retry === "always" || (a.retry === "auto" && a.maxHandshakes > 0 && this.handshakes.size >= a.maxHandshakes / 2);
      if (retry) return void this.retry(from, address, header);
      scid = randomBytes(CID_LEN);
    }
    const release = this.handshakes.take(address);
    if (release === null) {
      this.stats.refused++;
      this.refusals.note();
      return;
    }
    return { scid, odcid, release };
  }

  /** Count `c` as a handshake, holding `release`, until settle() or its deadline. */
  hold(c: QuicConnection, release: Release): void {
    const timer = setTimeout(() => {
      this.log.debug({ remote: c.remote, transport: "quic" }, "handshake deadline passed; closing");
      c.close(0x1, "handshake timeout");
      this.settle(c);
    }, this.admission.handshakeTimeout);
    timer.unref();
    this.pending.set(c, { release, timer });
  }

  /** `c` no longer counts as a handshake. */
  settle(c: QuicConnection): void {
    const p = this.pending.get(c);
    if (p === undefined) return;
    this.pending.delete(c);
    clearTimeout(p.timer);
    p.release();
  }

  /** A short-header packet for a connection we do not know (RFC 9000 §10.3). */
  reset(length: number, dcid: Uint8Array, to: HostPort): void {
    const packet = statelessReset(length, dcid);
    if (packet === undefined || !this.budget.take()) return;
    this.stats.resets++;
    this.send(packet, to);
  }

  private retry(from: HostPort, address: string, header: LongHeader): void {
    if (!this.budget.take()) return;
    const newScid = randomBytes(CID_LEN);
    const out = Buffer.allocUnsafe(1350);
    let n: number;
    try {
      n = this.native.retry(header.scid, header.dcid, newScid, mintRetryToken(address, header.dcid), header.version, out);
    } catch {
      return;
    }
    this.stats.retries++;
    this.send(out.subarray(0, n), from);
  }
}
