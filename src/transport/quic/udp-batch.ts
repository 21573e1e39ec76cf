// The UDP send path. A QUIC connection's flush writes its packets into one shared buffer, packet
// i in slot i (views made once, so no allocation per packet), and hands them over in one call per
// batch: with the optional native helper (native/udp_batch.c, built at install time) that is one
// sendmmsg(2) with UDP GSO for runs of full-size packets on node:dgram's own socket; without it,
// one node:dgram send per packet.
import type { Socket } from "node:dgram";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { HostPort } from "./native.js";

export interface BatchAddon {
  /** 2 once sendBatch takes `slot`; a helper built earlier (no version) is not used for sending. */
  version?: number;
  sendBatch(fd: number, buf: Buffer, lengths: Uint32Array, count: number, addr: Buffer, gso: number, slot?: number): number;
  makeAddr(host: string, port: number, v6socket: boolean): Buffer;
  /** Absent from a helper built before receives were batched (then node:dgram receives alone). */
  recvBatch?(fd: number, buf: Buffer, slot: number, count: number, lengths: Uint32Array, addrs: Buffer): number;
}

let addon: BatchAddon | null | undefined;

/** The compiled helper, or null (not built, or disabled with MOQ_NO_NATIVE=1). */
export function loadBatchAddon(): BatchAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.MOQ_NO_NATIVE) return addon;
  try {
    // src/transport/quic and dist/transport/quic both sit three levels below the package root.
    addon = createRequire(import.meta.url)(fileURLToPath(new URL("../../../native/build/udp_batch.node", import.meta.url))) as BatchAddon;
  } catch {
    addon = null;
  }
  return addon;
}

/** Packets per batch; a GSO send carries at most 64 segments. */
export const BATCH_PACKETS = 64;
export const MAX_PACKET = 1500;
const EAGAIN = -11;

/** node:dgram keeps its handle behind a private symbol; `_handle` is deprecated (DEP0112). */
export function socketFd(socket: Socket): number | undefined {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[sym];
    const fd = state?.handle?.fd;
    if (typeof fd === "number" && fd >= 0) return fd;
  }
  return undefined;
}

function slotsOf(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < BATCH_PACKETS; i++) out.push(buf.subarray(i * MAX_PACKET, (i + 1) * MAX_PACKET));
  return out;
}

export class UdpSender {
  /** Where a flush writes its packets, packet i at i * MAX_PACKET; replaced when node:dgram may still hold it. */
  private buf = Buffer.allocUnsafeSlow(BATCH_PACKETS * MAX_PACKET);
  /** Views of the slots, handed to quiche's send(). */
  slots = slotsOf(this.buf);
  readonly lengths = new Uint32Array(BATCH_PACKETS);
  private readonly fd: number | undefined;
  private gso = 1;
  private readonly addrs = new Map<string, Buffer>();
  /** Counters for tests and the benchmark: packets through the helper and through node:dgram. */
  batched = 0;
  fallback = 0;
  /** The socket is closed: connections still draining (timers) have their packets dropped. */
  shut = false;

  constructor(
    private readonly socket: Socket,
    private readonly v6: boolean,
    readonly native: BatchAddon | null,
  ) {
    this.fd = native !== null && (native.version ?? 0) >= 2 ? socketFd(socket) : undefined;
  }

  get usesHelper(): boolean {
    return this.fd !== undefined;
  }

  /** Send the packets in the first `count` slots (sizes in `lengths`) to `to`. */
  flush(count: number, to: HostPort): void {
    if (count === 0 || this.shut) return;
    let sent = 0;
    const addr = this.fd !== undefined ? this.addr(to) : undefined;
    if (this.fd !== undefined && this.native !== null && addr !== undefined) {
      let r = this.native.sendBatch(this.fd, this.buf, this.lengths, count, addr, this.gso, MAX_PACKET);
      if (r < 0 && r !== EAGAIN && this.gso === 1) {
        // No GSO on this path (EIO/EINVAL from the NIC or an old kernel): plain sendmmsg from now on.
        this.gso = 0;
        r = this.native.sendBatch(this.fd, this.buf, this.lengths, count, addr, 0, MAX_PACKET);
      }
      sent = Math.max(0, r);
      this.batched += sent;
      if (sent === count) return;
    }
    // The rest (socket buffer full, or no helper) goes through node:dgram, which queues it; the
    // buffer is then node's until those sends complete, so the next flush gets a fresh one.
    for (let i = sent; i < count; i++) this.socket.send(this.slots[i].subarray(0, this.lengths[i]), to.port, to.host);
    this.fallback += count - sent;
    this.buf = Buffer.allocUnsafeSlow(BATCH_PACKETS * MAX_PACKET);
    this.slots = slotsOf(this.buf);
  }

  /** The peer as a sockaddr for the helper; undefined for a name (node:dgram resolves those). */
  private addr(to: HostPort): Buffer | undefined {
    const key = `${to.host}|${to.port}`;
    let a = this.addrs.get(key);
    if (a === undefined) {
      try {
        a = (this.native as BatchAddon).makeAddr(to.host, to.port, this.v6);
      } catch {
        return undefined;
      }
      if (this.addrs.size > 100_000) this.addrs.clear();
      this.addrs.set(key, a);
    }
    return a;
  }

  /** A connection is gone: its peer's address need not stay cached. */
  forget(to: HostPort): void {
    this.addrs.delete(`${to.host}|${to.port}`);
  }
}
