import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { generateKey, serializeKey } from "../../src/token/key.js";
import { signToken, type Claims } from "../../src/token/claims.js";
import { startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

const dir = mkdtempSync(join(tmpdir(), "moq-auth-e2e-"));
const key = await generateKey("HS256", "main");
writeFileSync(join(dir, "root.jwk"), serializeKey(key));
const relay = await startTestRelay({ "auth.key": join(dir, "root.jwk"), "auth.public": "anon" });
after(() => relay.close());

const now = (): number => Math.floor(Date.now() / 1000);
const token = (c: Partial<Claims>): Promise<string> => signToken(key, { root: "room", put: [], get: [], exp: now() + 60, ...c });

function status(path: string, jwt?: string): Promise<number> {
  // The WebSocket upgrade answers auth failures with a real HTTP status.
  return new Promise((resolve, reject) => {
    const req = request(relay.url(path, jwt), {
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "qmux-02.moq-lite-05" },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

test("a full token publishes and subscribes under its root", async () => {
  const jwt = await token({ put: [""], get: [""] });
  const pub = await connect(relay.url("room", jwt));
  const p = publish(pub, "cam", "video");
  const sub = await connect(relay.url("room", jwt));
  await waitAnnounced(sub, "cam");
  const r = subscribe(sub, "cam", "video");
  await p.waitSubscribed();
  p.group(["authorised"]);
  assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), "authorised");
  pub.close();
  sub.close();
});

test("refusals at connect are HTTP statuses: wrong root, expired, tampered, unknown kid, no token", async () => {
  const good = await token({ get: [""] });
  assert.equal(await status("elsewhere", good), 401, "wrong root");
  assert.equal(await status("room", await token({ get: [""], exp: now() - 5 })), 401, "expired");
  const [h, p, s] = good.split(".");
  assert.equal(await status("room", `${h}.${p}x.${s}`), 401, "tampered");
  const stranger = await signToken(await generateKey("HS256", "other"), { root: "room", put: [], get: [""] });
  assert.equal(await status("room", stranger), 401, "unknown kid");
  assert.equal(await status("private"), 401, "anonymous outside public");
  assert.equal(await status("room", good), 101, "the good token upgrades");
  await assert.rejects(connect(relay.url("elsewhere", good)));
});

test("public prefix: anonymous clients work under anon/", async () => {
  const anon = await connect(relay.url("anon"));
  assert.equal(anon.version, "moq-lite-05");
  anon.close();
});

test("missing put: the broadcast is refused, missing get: subscribing is refused", async () => {
  const readOnly = await token({ get: [""] });
  const full = await token({ put: [""], get: [""] });
  const sneaky = await connect(relay.url("room", readOnly));
  publish(sneaky, "sneaky", "video");
  const honest = await connect(relay.url("room", full));
  publish(honest, "honest", "video");
  const viewer = await connect(relay.url("room", full));
  await waitAnnounced(viewer, "honest");
  const list = (await (await fetch(relay.url("announced/room", full))).json()) as string[];
  assert.ok(list.includes("honest"));
  assert.ok(!list.includes("sneaky"), "a read-only token published");

  const writeOnly = await token({ put: [""] });
  const blind = await connect(relay.url("room", writeOnly));
  const r = subscribe(blind, "honest", "video");
  await assert.rejects(r.nextGroup(3000));
  for (const c of [sneaky, honest, viewer, blind]) c.close();
});

test("reserved namespaces are publishable only with a cluster token", async () => {
  const user = await signToken(key, { root: "", put: [""], get: [""] });
  const peer = await signToken(key, { root: "", put: [""], get: [""], cluster: true });
  const a = await connect(relay.url("", user));
  publish(a, ".internal/fake", "x");
  const b = await connect(relay.url("", peer));
  publish(b, ".internal/real", "x");
  await waitAnnounced(a, ".internal/real");
  const list = (await (await fetch(relay.url("announced", user))).json()) as string[];
  assert.ok(list.includes(".internal/real"));
  assert.ok(!list.includes(".internal/fake"));
  a.close();
  b.close();
});

test("a token that expires mid-session closes the session", async () => {
  const short = await token({ put: [""], get: [""], exp: now() + 2 });
  const started = Date.now();
  const conn = await connect(relay.url("room", short));
  await within(conn.closed, 8000, "the session to close at token expiry");
  const took = Date.now() - started;
  assert.ok(took >= 900 && took <= 6000, `closed after ${took} ms`);
});
