// Raw QUIC traffic for admission tests: real client Initials (a ClientHello quiche would accept)
// from a native client that never continues, and a dgram socket to send them from any loopback
// address. Nothing here completes a handshake.
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { loadNative } from "../../src/transport/quic/native.js";

/** `n` first-flight Initials (1200+ bytes each), each from a fresh client connection. */
export function clientInitials(n: number, alpn = "h3"): Buffer[] {
  const native = loadNative();
  if (native === null) throw new Error("the QUIC binding is not installed");
  const cfg = native.Config.withBoringSslCtx(false, false, null, null, null, null);
  cfg.setApplicationProtos([alpn]);
  const out: Buffer[] = [];
  const buf = Buffer.alloc(1500);
  for (let i = 0; i < n; i++) {
    const c = native.Connection.connect("localhost", randomBytes(16), { host: "127.0.0.1", port: 1 }, { host: "127.0.0.1", port: 2 }, cfg);
    const r = c.send(buf);
    if (r === null) throw new Error("the client produced no Initial");
    out.push(Buffer.from(buf.subarray(0, r[0])));
  }
  return out;
}

/** A UDP socket bound to `address` (any 127.x.y.z works on Linux loopback) that collects what it receives. */
export async function rawSocket(address = "127.0.0.1"): Promise<{ socket: Socket; received: Buffer[]; next(): Promise<Buffer>; close(): Promise<void> }> {
  const socket = createSocket("udp4");
  const received: Buffer[] = [];
  let waiter: ((b: Buffer) => void) | undefined;
  socket.on("message", (m) => {
    received.push(m);
    const w = waiter;
    waiter = undefined;
    w?.(m);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, address, () => resolve());
  });
  return {
    socket,
    received,
    next: () => new Promise((r) => (waiter = r)),
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

/** Send `packets` to 127.0.0.1:`port`, a burst per event-loop turn so the socket buffer keeps up. */
export async function sendAll(socket: Socket, port: number, packets: Buffer[], burst = 64): Promise<void> {
  for (let i = 0; i < packets.length; i += burst) {
    await Promise.all(packets.slice(i, i + burst).map((p) => new Promise<void>((r) => socket.send(p, port, "127.0.0.1", () => r()))));
    await new Promise((r) => setImmediate(r));
  }
}
