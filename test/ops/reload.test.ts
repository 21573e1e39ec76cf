// SIGHUP on the real relay binary: live keys change without dropping a session, restart-only keys
// are logged as ignored, a broken file keeps the running config. Every JSON log line is checked
// for duplicate keys and for the tokens the test used.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKey, publicKey, serializeKey } from "../../src/token/key.js";
import { signToken } from "../../src/token/claims.js";
import { freePort } from "../util/child-relay.js";
import { ROOT } from "../util/spawn.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

/** Top-level keys of one JSON object line, in order (JSON.parse would silently keep the last). */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      const after = line.slice(j + 1).trimStart();
      if (depth === 1 && after.startsWith(":")) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      i = j;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
  }
  return keys;
}

const d = mkdtempSync(join(tmpdir(), "moq-reload-"));
const file = join(d, "relay.toml");
const root = await generateKey("ES256", "k1");
writeFileSync(join(d, "root.jwk"), serializeKey(publicKey(root)));
const token = await signToken(root, { root: "secure", put: "", get: "" });
const port = await freePort();

function write(extra: { public: string; key?: boolean; level: string; cors?: string }): void {
  writeFileSync(
    file,
    `[server]\nbind = "127.0.0.1:${port}"\n[tls]\ngenerate = ["localhost"]\n[auth]\npublic = ${extra.public}\n${extra.key ? 'key = "root.jwk"\n' : ""}[log]\nlevel = "${extra.level}"\nformat = "json"\n[http]\ncors = "${extra.cors ?? "*"}"\ndrain_timeout = "200ms"\n`,
  );
}
write({ public: '"anon"', level: "info" });

const child = spawn(process.execPath, [`${ROOT}bin/moq-relay.js`, file], { stdio: ["ignore", "ignore", "pipe"] });
let log = "";
const waiters: { re: RegExp; from: number; resolve: (line: string) => void }[] = [];
child.stderr.on("data", (b: Buffer) => {
  log += b.toString();
  for (const w of waiters.slice()) {
    const line = log.slice(w.from).split("\n").find((l) => w.re.test(l));
    if (line !== undefined) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  }
});
const exited = new Promise<number | null>((r) => child.once("exit", r));
after(async () => {
  if (child.exitCode === null) child.kill("SIGKILL");
  await within(exited, 5000, "the relay to exit");
});

/** The next log line (after `from`) matching `re`. */
function logLine(re: RegExp, from: number, what: string): Promise<string> {
  const have = log.slice(from).split("\n").find((l) => re.test(l));
  if (have !== undefined) return Promise.resolve(have);
  return within(new Promise<string>((resolve) => waiters.push({ re, from, resolve })), 10_000, what);
}

const url = (path: string, jwt?: string): string => `http://127.0.0.1:${port}/${path}${jwt ? `?jwt=${jwt}` : ""}`;

test("SIGHUP applies a new public prefix and key, logs a restart-only key as ignored, and keeps a live session", async () => {
  await logLine(/"relay listening"/, 0, "the relay to listen");
  const pub = await connect(url("anon"));
  const p = publish(pub, "live", "video");
  await assert.rejects(connect(url("open")), "open/ is not public before the reload");
  await assert.rejects(connect(url("secure", token)), "no key is configured before the reload");

  write({ public: '["anon", "open"]', key: true, level: "debug", cors: "https://example.com" });
  const mark = log.length;
  child.kill("SIGHUP");
  const done = JSON.parse(await logLine(/"configuration reloaded"/, mark, "the reload to finish")) as { applied: string[]; ignored: string[] };
  assert.deepEqual([...done.applied].sort(), ["auth.key", "auth.public", "log.level"]);
  assert.deepEqual(done.ignored, ["http.cors"]);
  assert.match(log.slice(mark), /"key":"http\.cors".*needs a restart/);

  const open = await connect(url("open"));
  const secure = await connect(url("secure", token));
  // The publisher's session from before the reload still serves a new viewer.
  const viewer = await connect(url("anon"));
  await waitAnnounced(viewer, "live");
  const r = subscribe(viewer, "live", "video");
  // The relay registers the viewer before it asks the publisher, so once the publisher is asked
  // the group reaches the viewer (a fixed pause could end before the subscription got there).
  await p.waitSubscribed(10_000);
  p.group(["after the reload"]);
  assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), "after the reload");
  for (const c of [open, secure, viewer, pub]) c.close();
  assert.equal(child.exitCode, null);
});

test("a broken file on SIGHUP is logged and the running config stays", async () => {
  writeFileSync(file, "[server\nbind = ");
  const mark = log.length;
  child.kill("SIGHUP");
  const line = await logLine(/"reload refused/, mark, "the broken reload to be refused");
  assert.match(line, /relay\.toml/);
  const open = await connect(url("open"));
  open.close();
  assert.equal(child.exitCode, null);
});

test("JSON log lines never repeat a key and never carry the token", async () => {
  const lines = log.split("\n").filter((l) => l.startsWith("{"));
  assert.ok(lines.length > 5);
  for (const l of lines) {
    const keys = topLevelKeys(l);
    assert.equal(new Set(keys).size, keys.length, `duplicate key in ${l}`);
    assert.ok(!l.includes(token), `token in ${l}`);
  }
  const opened = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o.msg === "session opened");
  assert.ok(opened.length >= 3);
  for (const o of opened) for (const k of ["session", "transport", "protocol", "remote", "root"]) assert.ok(k in o, `session opened has ${k}`);
  // After the reload to level debug, a new viewer's subscription is logged with its path and track.
  const subscribed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o.msg === "subscribed");
  assert.ok(subscribed !== undefined && subscribed.path === "live" && subscribed.track === "video", "a debug line for the subscription");
  assert.ok(lines.some((l) => l.includes('"msg":"announces requested"')), "a debug line for the announce request");
  const closed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o.msg === "session closed");
  assert.ok(closed !== undefined);
  for (const k of ["duration_ms", "code", "bytes_in", "bytes_out", "transport", "protocol", "remote", "root"]) assert.ok(k in closed, `session closed has ${k}: ${JSON.stringify(closed)}`);
});
