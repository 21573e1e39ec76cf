import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { haveChromium, launchBrowser, type BrowserHarness } from "../util/browser.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { H3Connection } from "../../src/transport/h3/connection.js";
import type { WebTransportSession } from "../../src/transport/h3/webtransport.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

// The WebTransport API itself, in Chromium, against our HTTP/3 engine with an echo application.
const log = silentLogger();
let harness: BrowserHarness;
let certs: CertStore;
let server: QuicEndpoint;
const sessions: WebTransportSession[] = [];

before(async () => {
  if (!haveChromium) return;
  certs = await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log);
  server = await QuicEndpoint.bind({
    host: "127.0.0.1",
    port: 0,
    alpns: ["h3"],
    cert: certs.current,
    quic: { idle_timeout: 10_000, keep_alive: 2000, stream_window: 4 << 20, connection_window: 16 << 20, max_streams: 200, socket_buffer: 4 << 20 },
    log,
  });
  server.onConnection = (c) =>
    new H3Connection<null>(c, {
      log,
      maxSessions: 4,
      maxHeaderSize: 16384,
      accept: async (req) => ({ ok: true, protocol: req.protocols[0], value: null }),
      onSession: (s) => {
        sessions.push(s);
        s.onBidi = (b) => {
          b.recv.onData = (d) => b.send.write(d);
          b.recv.onEnd = () => b.send.end();
        };
        s.onUni = (u) => {
          const parts: Uint8Array[] = [];
          u.onData = (d) => parts.push(d);
          u.onEnd = () =>
            void s.openUni().then((out) => {
              out.write(Buffer.concat([Buffer.from("echo:"), ...parts]));
              out.end();
            });
        };
        s.onDatagram = (d) => s.sendDatagram(d);
      },
    }).start();
  harness = await launchBrowser();
});
after(async () => {
  await harness?.close();
  await server?.close();
  certs?.close();
});

test("Chromium's WebTransport: protocol negotiation, bidi and uni streams both ways, datagrams, server close code", { skip: !haveChromium && "no /usr/bin/chromium" }, async () => {
  const page = await harness.newPage();
  const result = page.evaluate(
    async ([url, hash]) => {
      const bytes = new Uint8Array((hash.match(/../g) ?? []).map((x) => parseInt(x, 16)));
      // Node's type library has no DOM, so describe the part of WebTransport used here.
      interface Wt {
        ready: Promise<void>;
        closed: Promise<{ closeCode: number; reason: string }>;
        protocol: string;
        createBidirectionalStream(): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }>;
        createUnidirectionalStream(): Promise<WritableStream<Uint8Array>>;
        incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
        datagrams: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
      }
      const Ctor = (globalThis as unknown as { WebTransport: new (u: string, o: object) => Wt }).WebTransport;
      const wt = new Ctor(url, { serverCertificateHashes: [{ algorithm: "sha-256", value: bytes }], protocols: ["moq-lite-05", "moq-lite-04"] });
      await wt.ready;
      const out: Record<string, unknown> = { protocol: wt.protocol };
      const read = async (r: ReadableStream<Uint8Array>): Promise<string> => {
        let s = "";
        for await (const c of r as unknown as AsyncIterable<Uint8Array>) s += new TextDecoder().decode(c);
        return s;
      };
      const bidi = await wt.createBidirectionalStream();
      const w = bidi.writable.getWriter();
      await w.write(new TextEncoder().encode("bidi hello"));
      await w.close();
      out.bidi = await read(bidi.readable);
      const uni = await wt.createUnidirectionalStream();
      const uw = uni.getWriter();
      await uw.write(new TextEncoder().encode("uni hello"));
      await uw.close();
      const incoming = wt.incomingUnidirectionalStreams.getReader();
      out.uni = await read((await incoming.read()).value as ReadableStream<Uint8Array>);
      const dr = wt.datagrams.readable.getReader();
      const dw = wt.datagrams.writable.getWriter();
      // Datagrams may be lost, so send again until one echo is back; one read stays pending
      // across the tries, so an echo slower than a try (a loaded machine) still counts.
      const echoed = dr.read();
      for (let i = 0; i < 10 && out.datagram === undefined; i++) {
        await dw.write(new TextEncoder().encode("dgram"));
        const got = await Promise.race([echoed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 500))]);
        if (got?.value) out.datagram = new TextDecoder().decode(got.value);
      }
      (globalThis as { wtReady?: boolean }).wtReady = true;
      const closed = await wt.closed;
      out.closeCode = closed.closeCode;
      out.reason = closed.reason;
      return out;
    },
    [`https://127.0.0.1:${server.port}/echo`, certs.current.fingerprint],
  );
  await within(page.waitForFunction(() => (globalThis as { wtReady?: boolean }).wtReady === true, undefined, { timeout: 15_000 }), 16_000, "the browser exchange");
  sessions.at(-1)?.close(42, "server says bye");
  const got = (await within(result, 10_000, "the browser to see the close")) as Record<string, unknown>;
  assert.equal(got.protocol, "moq-lite-05");
  assert.equal(got.bidi, "bidi hello");
  assert.equal(got.uni, "echo:uni hello");
  assert.equal(got.datagram, "dgram");
  assert.equal(got.closeCode, 42);
  assert.equal(got.reason, "server says bye");
  await page.close();
});
