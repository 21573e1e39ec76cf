// Benchmark child process for the ceilings measured in the same run as the relay rows:
//   dgram-recv           bind a UDP socket, count datagrams, report on "stop"
//   dgram-send PORT SEC  send 1200-byte datagrams as fast as node:dgram allows (bursts per turn)
//   ws-recv              a ws server that counts bytes
//   ws-send PORT SEC     one ws client pushing 64 kB messages with bounded buffering
// Senders report what they sent and the CPU they spent (process.cpuUsage), so a ceiling is a rate
// per core of the sending process, the same unit as the relay's.
import { createSocket } from "node:dgram";
import { WebSocket, WebSocketServer } from "ws";

const [mode, portArg, secArg] = process.argv.slice(2);
const seconds = Number(secArg ?? 2);
const send = (m: object): boolean => process.send?.(m) ?? false;

function cpuSeconds(since: NodeJS.CpuUsage): { cpu: number; kernel: number } {
  const u = process.cpuUsage(since);
  return { cpu: (u.user + u.system) / 1e6, kernel: u.system / Math.max(1, u.user + u.system) };
}

if (mode === "dgram-recv") {
  const rx = createSocket("udp4");
  let packets = 0;
  let bytes = 0;
  rx.on("message", (m) => {
    packets++;
    bytes += m.length;
  });
  rx.bind(0, "127.0.0.1", () => send({ port: rx.address().port }));
  process.on("message", () => send({ packets, bytes }));
} else if (mode === "dgram-send") {
  const tx = createSocket("udp4");
  const packet = Buffer.alloc(1200, 1);
  const port = Number(portArg);
  let packets = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const burst = (): void => {
    for (let i = 0; i < 64; i++) tx.send(packet, port, "127.0.0.1");
    packets += 64;
    if (performance.now() < end) setImmediate(burst);
    else send({ packets, bytes: packets * 1200, wall: (performance.now() - t0) / 1000, ...cpuSeconds(c0) });
  };
  burst();
} else if (mode === "ws-recv") {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  let bytes = 0;
  wss.on("connection", (s) => s.on("message", (d: Buffer) => (bytes += d.length)));
  wss.once("listening", () => send({ port: (wss.address() as { port: number }).port }));
  process.on("message", () => send({ bytes }));
} else if (mode === "ws-send") {
  const c = new WebSocket(`ws://127.0.0.1:${portArg}`, { perMessageDeflate: false });
  const chunk = Buffer.alloc(64 * 1024, 1);
  c.once("open", () => {
    let bytes = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const pump = (): void => {
      while (c.bufferedAmount < 4 * 1024 * 1024 && performance.now() < end) {
        c.send(chunk);
        bytes += chunk.length;
      }
      if (performance.now() < end) setTimeout(pump, 1);
      else send({ bytes, wall: (performance.now() - t0) / 1000, ...cpuSeconds(c0) });
    };
    pump();
  });
} else {
  throw new Error(`unknown ceiling mode ${mode}`);
}
process.on("disconnect", () => process.exit(0));
