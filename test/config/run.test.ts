import "../util/polyfill.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { hasReusePort } from "../../src/workers/pool.js";
import { ROOT } from "../util/spawn.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

test("the moq-relay binary serves clients on its development default and drains on SIGTERM", async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [`${ROOT}bin/moq-relay.js`, "--bind", `127.0.0.1:${port}`, "--set", "http.drain_timeout=500ms", "--log-format", "json"], { stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = new URL(`http://127.0.0.1:${port}/anon`);
  await within(
    (async () => {
      for (;;) {
        if (await fetch(new URL("/ready", url)).then((r) => r.ok, () => false)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    10_000,
    "the relay to become ready",
  );
  // --bind was given, so only the certificate and anonymous access come from the dev default.
  assert.match(stderr, /no config file: development defaults: a self-signed certificate, anonymous publish and subscribe under anon\//);
  // [server] workers defaults to one per core: worker processes where Node has SO_REUSEPORT on
  // UDP, else UDP in the main process with one info line (a default, not a mistake: no warning).
  if (availableParallelism() > 1) {
    const lines = stderr.split("\n").filter((l) => /UDP served/.test(l)).map((l) => JSON.parse(l) as { level: number; msg: string; workers?: number });
    assert.equal(lines.length, 1, stderr);
    if (hasReusePort()) {
      assert.match(lines[0].msg, /UDP served by worker processes/);
      assert.equal(lines[0].workers, availableParallelism());
    } else {
      assert.match(lines[0].msg, /UDP served in the main process: server.workers needs Node >= 22.12/);
      assert.equal(lines[0].level, 30);
    }
    // Only the development-defaults warning (and whatever a loaded machine adds) may warn.
    const alarms = stderr.split("\n").filter((l) => /"level":[456]0/.test(l) && /worker|UDP|SO_REUSEPORT/.test(l));
    assert.deepEqual(alarms, [], "no warning about workers on the default start");
  }
  const fp = await (await fetch(new URL("/certificate.sha256", url))).text();
  assert.match(fp, /^[0-9a-f]{64}$/);

  const pub = await connect(url);
  const p = publish(pub, "smoke", "video");
  const sub = await connect(url);
  await waitAnnounced(sub, "smoke");
  const r = subscribe(sub, "smoke", "video");
  await new Promise((res) => setTimeout(res, 300));
  p.group(["through the real binary"]);
  assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), "through the real binary");

  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  assert.equal(await within(exited, 5000, "the relay to exit after SIGTERM"), 0);
  assert.match(stderr, /draining/);
  pub.close();
  sub.close();
});

test("a port already in use is a startup error with exit code 1", async () => {
  const blocker = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => blocker.once("listening", r));
  const port = (blocker.address() as { port: number }).port;
  const child = spawn(process.execPath, [`${ROOT}bin/moq-relay.js`, "--bind", `127.0.0.1:${port}`, "--log-format", "json"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await within(new Promise<number | null>((resolve) => child.once("exit", resolve)), 10_000, "the relay to exit");
  blocker.close();
  assert.equal(code, 1);
  assert.match(stderr, /EADDRINUSE/);
});
