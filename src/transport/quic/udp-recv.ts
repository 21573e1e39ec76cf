// The UDP receive path. node:dgram hands over one datagram per 'message' event, with a fresh
// Buffer and address object each; with the optional native helper (native/udp_batch.c) the
// endpoint then reads whatever else is queued on the same socket with recvmmsg(2), 64 datagrams
// per call, into one reused buffer. libuv's next read finds the socket empty and stops, so the
// order of datagrams is kept. Without the helper every datagram comes through node:dgram.
import type { RemoteInfo, Socket } from "node:dgram";
import { SocketAddress } from "node:net";
import type { HostPort } from "./native.js";
import { socketFd, type BatchAddon } from "./udp-batch.js";

export const RECV_BATCH = 64;
/** Larger than any datagram we accept (max_udp_payload_size is 1500); a longer one is dropped. */
export const RECV_SLOT = 2048;
const ADDR_SLOT = 28;
/**
 * Datagrams read with the helper per event-loop turn. Bounded like libuv's own 32 reads per poll:
 * under a flood the loop still reaches the connections' flushes and V8 its idle-time GC (quiche
 * memory of refused handshakes is freed only by finalizers).
 */
const TURN_BUDGET = 4 * RECV_BATCH;
const AF_INET = 2;
const AF_INET6 = 10;
const MAX_PEERS = 10_000;

export class UdpReceiver {
  private readonly fd: number | undefined;
  private readonly buf: Buffer;
  private readonly lengths = new Uint32Array(RECV_BATCH);
  private readonly addrs = Buffer.alloc(RECV_BATCH * ADDR_SLOT);
  /** sa_family is in host byte order. */
  private readonly families = new Uint16Array(this.addrs.buffer, this.addrs.byteOffset, (RECV_BATCH * ADDR_SLOT) / 2);
  /** Peer addresses seen, so a datagram from a known peer allocates no address object. */
  private readonly peers = new Map<number | string, HostPort>();
  /** Counters for tests and the benchmark: datagrams read by the helper and by node:dgram. */
  batched = 0;
  plain = 0;
  dropped = 0;
  private budget = TURN_BUDGET;
  private refill = false;

  constructor(
    socket: Socket,
    private readonly native: BatchAddon | null,
    private readonly deliver: (data: Buffer, from: HostPort) => void,
  ) {
    this.fd = native?.recvBatch !== undefined ? socketFd(socket) : undefined;
    this.buf = Buffer.allocUnsafeSlow(this.fd !== undefined ? RECV_BATCH * RECV_SLOT : 0);
  }

  get usesHelper(): boolean {
    return this.fd !== undefined;
  }

  /** node:dgram delivered a datagram: handle it, then read what else is queued. */
  readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    this.plain++;
    this.deliver(msg, { host: rinfo.address, port: rinfo.port });
    if (this.fd !== undefined) this.drain(this.fd);
  };

  private drain(fd: number): void {
    const recv = (this.native as BatchAddon & Required<Pick<BatchAddon, "recvBatch">>).recvBatch;
    if (!this.refill) {
      this.refill = true;
      setImmediate(this.refilled);
    }
    while (this.budget > 0) {
      // -errno (EAGAIN: nothing queued) or 0 ends the drain; node:dgram reports real errors.
      const n = recv(fd, this.buf, RECV_SLOT, Math.min(RECV_BATCH, this.budget), this.lengths, this.addrs);
      if (n <= 0) return;
      this.batched += n;
      this.budget -= n;
      for (let i = 0; i < n; i++) {
        const len = this.lengths[i];
        const from = len === 0 ? undefined : this.peer(i);
        if (from === undefined) {
          this.dropped++;
          continue;
        }
        // A view into the reused buffer: everything downstream copies what it keeps (quiche
        // decrypts in place and buffers stream data itself).
        this.deliver(this.buf.subarray(i * RECV_SLOT, i * RECV_SLOT + len), from);
      }
      if (n < RECV_BATCH) return;
    }
  }

  private readonly refilled = (): void => {
    this.refill = false;
    this.budget = TURN_BUDGET;
  };

  /** The sender of datagram `i`, written the way node:dgram writes rinfo.address. */
  private peer(i: number): HostPort | undefined {
    const o = i * ADDR_SLOT;
    const family = this.families[o / 2];
    const port = this.addrs.readUInt16BE(o + 2);
    let key: number | string;
    if (family === AF_INET) key = this.addrs.readUInt32BE(o + 4) * 65536 + port;
    else if (family === AF_INET6) key = this.addrs.toString("hex", o + 2, o + 24);
    else return undefined;
    let p = this.peers.get(key);
    if (p === undefined) {
      p = { host: family === AF_INET ? ipv4(this.addrs, o + 4) : ipv6(this.addrs, o + 8), port };
      if (this.peers.size >= MAX_PEERS) this.peers.clear();
      this.peers.set(key, p);
    }
    return p;
  }
}

function ipv4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text (what node:dgram reports, e.g. "::1", "::ffff:127.0.0.1"), via node's own formatter. */
function ipv6(b: Buffer, o: number): string {
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push(b.readUInt16BE(o + 2 * g).toString(16));
  return new SocketAddress({ address: groups.join(":"), family: "ipv6" }).address;
}
