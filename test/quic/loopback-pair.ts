// Two QUIC endpoints on loopback for transport tests: a server speaking ALPN "bench" with a
// generated certificate and a client with its own (usually tight) windows; `pair()` dials one
// connection and returns both of its ends. Closed after the test file.
import { after } from "node:test";
import type { QuicConfig } from "../../src/config/types.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

type Windows = Omit<QuicConfig, "retry">;

export interface LoopbackPair {
  server: QuicEndpoint;
  client: QuicEndpoint;
  /** A fresh connection: `c` at the client, `sc` its server side. */
  pair(): Promise<{ c: QuicConnection; sc: QuicConnection }>;
}

export async function loopbackPair(serverQuic: Windows, clientQuic: Windows): Promise<LoopbackPair> {
  const log = silentLogger();
  const certs = await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log);
  const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["bench"], cert: certs.current, quic: serverQuic, log });
  const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: clientQuic, log });
  after(async () => {
    await client.close();
    await server.close();
    certs.close();
  });
  return {
    server,
    client,
    async pair() {
      const accepted = new Promise<QuicConnection>((resolve) => (server.onConnection = resolve));
      const c = await within(client.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["bench"], insecure: true }), 5000, "handshake");
      return { c, sc: await within(accepted, 5000, "the server side of the connection") };
    },
  };
}
