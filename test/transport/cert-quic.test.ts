import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createHash } from "node:crypto";
import { CertStore } from "../../src/transport/tls/cert.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

const log = silentLogger();
const DAY = 86_400_000;

test("the generated certificate is what browsers pin: ECDSA P-256, valid at most 14 days, with the SANs", async () => {
  const store = await CertStore.create({ generate: ["localhost", "127.0.0.1", "relay.test"], fingerprints: [] }, log);
  const cert = new X509Certificate(store.current.certPem);
  assert.equal(cert.publicKey.asymmetricKeyType, "ec");
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  const life = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
  assert.ok(life <= 14 * DAY, `valid for ${life / DAY} days`);
  assert.ok(Date.parse(cert.validFrom) <= Date.now() && Date.parse(cert.validTo) > Date.now() + 13 * DAY);
  assert.match(cert.subjectAltName ?? "", /DNS:localhost/);
  assert.match(cert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
  assert.match(cert.subjectAltName ?? "", /DNS:relay\.test/);
  assert.equal(store.current.fingerprint, createHash("sha256").update(cert.raw).digest("hex"));
  store.close();
});

test("a renewed certificate is hot-swapped into QUIC for new handshakes", async () => {
  const store = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log);
  const quic = { idle_timeout: 5000, keep_alive: 0, stream_window: 1 << 20, connection_window: 4 << 20, max_streams: 10, socket_buffer: 1 << 20 };
  const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["moq-lite-05"], cert: store.current, quic, log });
  store.onChange((c) => server.setCertificate(c.certPem, c.keyPem));
  const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic, log });
  const dial = (fp: string): Promise<unknown> => within(client.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints: [fp] }), 5000, "handshake");
  const old = store.current.fingerprint;
  await dial(old);
  await store.rotate();
  assert.notEqual(store.current.fingerprint, old);
  await dial(store.current.fingerprint);
  await assert.rejects(dial(old), /does not match the pinned fingerprint/);
  await client.close();
  await server.close();
  store.close();
});
