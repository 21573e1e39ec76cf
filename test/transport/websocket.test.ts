import { qmuxClient, rawConnect, readAll, startFixture, tryUpgrade, until, within, type Fixture } from "./fixture.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import QmuxSession, { StreamError } from "@moq/qmux";
import type { CloseInfo } from "../../src/transport/session.js";

const T = 5000;
const enc = new TextEncoder();

function codeOf(err: unknown): unknown {
  return (err as { streamErrorCode?: unknown } | null)?.streamErrorCode;
}

describe("QMux over WebSocket", () => {
  let f: Fixture;
  let ws: string;
  let wss: string;
  before(async () => {
    f = await startFixture();
    ws = `ws://127.0.0.1:${f.port}`;
    wss = `wss://127.0.0.1:${f.port}`;
  });
  after(() => f.close());

  test("the relay picks moq-lite-05 by its own preference even when the client lists moq-lite-04 first", async (t) => {
    const client = new QmuxSession(`http://127.0.0.1:${f.port}/anon/room?jwt=abc`, {
      protocols: ["moq-lite-04", "moq-lite-05"],
      versions: { "moq-lite-04": null, "moq-lite-05": null },
      requireProtocol: true,
    });
    t.after(() => client.close());
    await within(client.ready, T, "the WebSocket handshake");
    assert.equal(client.protocol, "moq-lite-05");
    const s = f.sessions.at(-1);
    assert.ok(s);
    assert.equal(s.transport, "websocket");
    assert.equal(s.protocol, "moq-lite-05");
    assert.equal(s.subprotocol, "qmux-02.moq-lite-05", "the newest QMux draft offered for it");
    assert.equal(s.url.href, `ws://127.0.0.1:${f.port}/anon/room?jwt=abc`);
    assert.match(s.remote, /^127\.0\.0\.1:\d+$/);
    const asked = f.asked.at(-1);
    assert.equal(asked?.protocol, "moq-lite-05");
    assert.equal(asked?.url.pathname, "/anon/room");
    assert.equal(asked?.url.searchParams.get("jwt"), "abc");
  });

  test("subprotocol choice: our ALPN order first, then the newest QMux draft; bare wire formats mean legacy SETUP", async () => {
    const pick = async (offer: string[]) => (await tryUpgrade(`${ws}/anon`, offer)).protocol;
    assert.equal(await pick(["qmux-00.moq-lite-05", "qmux-01.moq-lite-05"]), "qmux-01.moq-lite-05");
    assert.equal(await pick(["qmux-02.moq-lite-03", "qmux-00.moq-lite-04"]), "qmux-00.moq-lite-04");
    assert.equal(await pick(["qmux-02.moqt-17", "qmux-01.moql", "qmux-02"]), "qmux-01.moql");
    assert.equal(await pick(["webtransport", "qmux-01"]), "qmux-01");
    const before = f.sessions.length;
    assert.equal(await pick([]), "", "no header: upgraded without a subprotocol");
    await until(() => f.sessions.length > before, T, "the session");
    assert.equal(f.sessions.at(-1)?.protocol, "", "legacy in-band SETUP");
  });

  test("an offer with no supported protocol is refused with HTTP 400", async () => {
    const r = await tryUpgrade(`${ws}/anon`, ["qmux-02.moqt-17", "qmux-01.moq-lite-99"]);
    assert.equal(r.status, 400);
    const client = new QmuxSession(`${ws}/anon`, { protocols: ["moqt-99"], versions: { "moqt-99": null }, requireProtocol: true });
    await assert.rejects(within(client.ready, T, "the refusal"));
  });

  test("without moql among our versions, bare wire formats and a missing header are refused", async (t) => {
    const strict = await startFixture({ versions: ["moq-lite-05"], certs: f.certs });
    t.after(() => strict.close());
    assert.equal((await tryUpgrade(`ws://127.0.0.1:${strict.port}/anon`, ["qmux-02", "webtransport"])).status, 400);
    assert.equal((await tryUpgrade(`ws://127.0.0.1:${strict.port}/anon`, [])).status, 400);
    assert.equal((await tryUpgrade(`ws://127.0.0.1:${strict.port}/anon`, ["qmux-02", "qmux-02.moq-lite-05"])).protocol, "qmux-02.moq-lite-05");
  });

  test("an authorize refusal is answered with its HTTP status and never becomes a session", async () => {
    const before = f.sessions.length;
    const denied = await tryUpgrade(`${ws}/denied?jwt=bad`, ["qmux-02.moq-lite-05"]);
    assert.equal(denied.status, 401);
    assert.match(denied.body ?? "", /not for you/);
    assert.equal((await tryUpgrade(`${wss}/forbidden`, ["qmux-02.moq-lite-05"], f.certs.certPem)).status, 403);
    const client = qmuxClient(`${ws}/denied`, ["qmux-02.moq-lite-05"]);
    await assert.rejects(within(client.ready, T, "the refusal"));
    assert.equal(f.sessions.length, before);
  });

  for (const scheme of ["ws", "wss"] as const) {
    test(`over ${scheme}: a bidi stream is echoed, and uni streams flow both ways`, async (t) => {
      const base = scheme === "ws" ? ws : wss;
      const client = qmuxClient(`${base}/anon`, ["qmux-02.moq-lite-05"], f.certs.certPem);
      t.after(() => client.close());
      await within(client.ready, T, "the handshake");
      assert.equal(f.sessions.at(-1)?.url.protocol, `${scheme}:`);

      const bidi = await client.createBidirectionalStream();
      const w = bidi.writable.getWriter();
      await w.write(enc.encode("hello "));
      await w.write(enc.encode("relay"));
      await w.close();
      assert.equal((await within(readAll(bidi.readable), T, "the echo")).toString(), "hello relay");

      const uni = await client.createUnidirectionalStream();
      const uw = uni.getWriter();
      await uw.write(enc.encode("hello uni"));
      await uw.close();
      const incoming = client.incomingUnidirectionalStreams.getReader();
      const back = await within(incoming.read(), T, "the server's uni stream");
      assert.ok(back.value);
      assert.equal((await within(readAll(back.value), T, "its bytes")).toString(), "hello uni");
      incoming.releaseLock();

      // The server opens a bidi stream; the client answers on it.
      const server = f.sessions.at(-1);
      assert.ok(server);
      const sb = await server.openBidi();
      assert.equal(sb.id % 4, 1, "a server-initiated bidi stream id");
      const answer = new Promise<string>((resolve, reject) => {
        let got = "";
        sb.recv.onData = (c) => (got += Buffer.from(c).toString());
        sb.recv.onEnd = () => resolve(got);
        sb.recv.onReset = (code) => reject(new Error(`reset ${code}`));
      });
      sb.send.write(enc.encode("question"));
      sb.send.end();
      const inBidi = client.incomingBidirectionalStreams.getReader();
      const cb = await within(inBidi.read(), T, "the server's bidi stream");
      assert.ok(cb.value);
      const asked = (await within(readAll(cb.value.readable), T, "the question")).toString();
      const cw = cb.value.writable.getWriter();
      await cw.write(enc.encode(`answer to ${asked}`));
      await cw.close();
      assert.equal(await within(answer, T, "the answer"), "answer to question");
      inBidi.releaseLock();
    });
  }

  test("older QMux drafts and the legacy webtransport wire format echo too", async () => {
    for (const offer of ["qmux-01.moq-lite-04", "qmux-00.moq-lite-03", "webtransport"]) {
      const client = qmuxClient(`${ws}/anon`, [offer]);
      try {
        await within(client.ready, T, `the handshake on ${offer}`);
        const s = f.sessions.at(-1);
        assert.equal(s?.subprotocol, offer);
        const bidi = await client.createBidirectionalStream();
        const w = bidi.writable.getWriter();
        await w.write(enc.encode(offer));
        await w.close();
        assert.equal((await within(readAll(bidi.readable), T, `the echo on ${offer}`)).toString(), offer);
        if (offer.startsWith("qmux-00") || offer === "webtransport") assert.equal(s?.maxDatagramSize, 0, "no datagrams on this wire format");
      } finally {
        client.close();
      }
    }
  });

  test("5 MB arrive intact through the echo, with backpressure on the server's writes", async (t) => {
    const client = qmuxClient(`${ws}/anon`, ["qmux-02.moq-lite-05"]);
    t.after(() => client.close());
    await within(client.ready, T, "the handshake");
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i, i);
    const before = { ...f.events };
    const bidi = await client.createBidirectionalStream();
    // Read late, so the server's queue fills and it has to wait for onDrain.
    const echoed = new Promise((r) => setTimeout(r, 300)).then(() => readAll(bidi.readable));
    const w = bidi.writable.getWriter();
    for (let i = 0; i < big.length; i += 64 * 1024) await w.write(big.subarray(i, i + 64 * 1024));
    await w.close();
    const got = await within(echoed, 30_000, "5 MB echoed");
    assert.equal(got.length, big.length);
    assert.ok(got.equals(big), "byte for byte");
    assert.ok(f.events.backpressured > before.backpressured, "write() reported backpressure");
    assert.ok(f.events.drained > before.drained, "onDrain resumed the writer");
  });

  test("stream reset and STOP_SENDING codes reach the other side", async (t) => {
    const client = qmuxClient(`${ws}/anon`, ["qmux-02.moq-lite-05"]);
    t.after(() => client.close());
    await within(client.ready, T, "the handshake");

    // Client resets → the server sees 42 → the echo resets its half with 42 → the client sees it.
    const a = await client.createBidirectionalStream();
    const aw = a.writable.getWriter();
    await aw.write(enc.encode("about to fail"));
    await aw.abort(new StreamError(42));
    await until(() => f.events.resets.includes(42), T, "the server to see reset 42");
    await assert.rejects(within(readAll(a.readable), T, "the mirrored reset"), (e) => codeOf(e) === 42);

    // Client stops reading with 9 → the server's send half stops with 9 → it stops its receive
    // half, which on QMux reads the rest and drops it rather than send STOP_SENDING (@moq/qmux
    // would never return the connection credit of what is still in flight: WhatwgRecv's
    // discardOnStop) → the client's writes still go through, well past the stream window.
    const b = await client.createBidirectionalStream();
    const bw = b.writable.getWriter();
    await bw.write(enc.encode("x"));
    await b.readable.cancel(new StreamError(9));
    await until(() => f.events.stops.includes(9), T, "the server to see STOP_SENDING 9");
    for (let i = 0; i < 32; i++) await within(bw.write(new Uint8Array(64 * 1024)), T, "a write the server drops");
    await within(bw.close(), T, "the client's FIN on the stream the server stopped");
  });

  test("datagrams are echoed on qmux-02", async (t) => {
    const client = qmuxClient(`${ws}/anon`, ["qmux-02.moq-lite-05"]);
    t.after(() => client.close());
    await within(client.ready, T, "the handshake");
    const s = f.sessions.at(-1);
    assert.ok(s);
    await until(() => client.datagrams.maxDatagramSize > 0 && s.maxDatagramSize > 0, T, "both sides' transport parameters");
    assert.ok(s.maxDatagramSize > 1000, "room for a media datagram");
    const reader = client.datagrams.readable.getReader();
    await client.datagrams.writable.getWriter().write(enc.encode("ping!"));
    const r = await within(reader.read(), T, "the echoed datagram");
    assert.equal(Buffer.from(r.value ?? []).toString(), "ping!");
    assert.equal(s.sendDatagram(new Uint8Array(s.maxDatagramSize + 1)), false, "too large is refused");
  });

  test("closing the session delivers code and reason to the client, and the reverse", async () => {
    const c1 = qmuxClient(`${ws}/anon`, ["qmux-02.moq-lite-05"]);
    await within(c1.ready, T, "the handshake");
    const s1 = f.sessions.at(-1);
    assert.ok(s1);
    s1.close(6, "bye");
    const info = await within(c1.closed, T, "the client to see the close");
    assert.equal(info.closeCode, 6);
    assert.equal(info.reason, "bye");
    assert.deepEqual(await within(s1.closed, T, "the server side"), { code: 6, reason: "bye", remote: false });
    await assert.rejects(s1.openBidi(), "no streams after close");

    const c2 = qmuxClient(`${ws}/anon`, ["qmux-02.moq-lite-05"]);
    await within(c2.ready, T, "the handshake");
    const s2 = f.sessions.at(-1);
    assert.ok(s2 && s2 !== s1);
    c2.close({ closeCode: 11, reason: "done here" });
    assert.deepEqual(await within(s2.closed, T, "the server to see the close"), { code: 11, reason: "done here", remote: true });
  });

  test("a peer that goes silent is dropped by keep-alive; one that answers pings stays", async (t) => {
    const k = await startFixture({ pingInterval: 100, certs: f.certs });
    t.after(() => k.close());

    const live = qmuxClient(`ws://127.0.0.1:${k.port}/anon`, ["qmux-02.moq-lite-05"]);
    t.after(() => live.close());
    await within(live.ready, T, "the handshake");
    const liveSession = k.sessions.at(-1);
    assert.ok(liveSession);
    let liveClosed: CloseInfo | undefined;
    void liveSession.closed.then((c) => (liveClosed = c));

    // A raw client: completes the upgrade, then never says another word (no pongs).
    const raw = await rawConnect(k.port);
    t.after(() => raw.destroy());
    raw.write(
      `GET /anon HTTP/1.1\r\nHost: 127.0.0.1:${k.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: qmux-02.moq-lite-05\r\n\r\n`,
    );
    const head = await within(new Promise<Buffer>((r) => raw.once("data", r)), T, "the 101");
    assert.match(head.toString(), /^HTTP\/1\.1 101/);
    const silent = k.sessions.at(-1);
    assert.ok(silent && silent !== liveSession);
    const start = Date.now();
    const gone = new Promise((r) => raw.once("close", r));
    assert.deepEqual(await within(silent.closed, 3000, "the silent peer to be dropped"), { code: 3, reason: "keep-alive timeout", remote: true });
    assert.ok(Date.now() - start >= 400, "after several missed pings, not at the first");
    await within(gone, T, "its socket to be closed");

    await new Promise((r) => setTimeout(r, 1000 - (Date.now() - start)));
    assert.equal(liveClosed, undefined, "the answering peer is still connected");
  });
});
