// Child process for the fan-out benchmark: N QUIC sessions that count every byte they receive.
import { QuicEndpoint } from "../src/transport/quic/endpoint.js";
import { silentLogger } from "../src/util/log.js";
import { QUIC } from "./quic-config.js";

const port = Number(process.argv[2]);
const n = Number(process.argv[3]);
const ep = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: QUIC, log: silentLogger() });
let bytes = 0;
let counting = false;
const conns = await Promise.all(Array.from({ length: n }, () => ep.connect({ host: "127.0.0.1", port, serverName: "localhost", alpns: ["bench"], insecure: true })));
for (const c of conns) {
  c.onUni = (u) => {
    u.onData = (d) => {
      if (counting) bytes += d.length;
    };
  };
}
counting = true;
process.send?.({ ready: true });
process.on("message", () => {
  process.send?.({ bytes }, () => process.exit(0));
});
