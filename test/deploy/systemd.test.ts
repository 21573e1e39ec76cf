// systemd/moq-relay.service on Debian 12's systemd 252: only keys it knows, the settings an operator
// relies on, and its ExecStart run for real as an unprivileged user that reads its files through
// its group, with the system calls it makes checked against the unit's SystemCallFilter.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { selfSigned } from "../../src/transport/tls/certificate.js";
import { within } from "../util/moq.js";
import { ROOT } from "../util/spawn.js";
import { command, get, tempDir } from "./helpers.js";
import { filterAllows, knownKeys, parseUnit, timeSpanMs, value, values } from "./unit.js";

const UNIT_PATH = join(ROOT, "systemd/moq-relay.service");
const SYSUSERS_PATH = join(ROOT, "systemd/moq-relay.sysusers");
const unitText = readFileSync(UNIT_PATH, "utf8");
const unit = parseUnit(unitText);
const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
// nobody/nogroup on Debian: an unprivileged uid with no access to anything of ours but by group.
const NOBODY = 65534;

test("every key in the unit is one systemd 252 knows", () => {
  const known = knownKeys(join(ROOT, "test/deploy/fixtures/systemd-252-keys.txt"));
  const unknown = unit.filter((e) => !known.has(`${e.section}.${e.key}`)).map((e) => `line ${e.line}: [${e.section}] ${e.key}`);
  assert.deepEqual(unknown, []);
});

test("systemd-analyze verify finds nothing to say about the unit", { skip: has("systemd-analyze") ? false : "systemd-analyze is not installed" }, async (t) => {
  // verify checks that ExecStart exists: point it at our bin script, as the install would.
  const dir = tempDir(t, "verify");
  const exec = value(unit, "Service", "ExecStart").split(/\s+/)[0]!;
  writeFileSync(join(dir, "moq-relay.service"), unitText.replace(exec, join(ROOT, "bin/moq-relay.js")));
  const r = await command("systemd-analyze", ["verify", "--man=no", join(dir, "moq-relay.service")], { timeoutMs: 30_000 });
  assert.equal(`${r.stdout}${r.stderr}`.trim(), "");
  assert.equal(r.code, 0);
});

test("the unit always restarts, reloads with SIGHUP, outwaits the drain and keeps only the capability for port 443", () => {
  assert.equal(value(unit, "Service", "Restart"), "always");
  assert.equal(value(unit, "Service", "ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(value(unit, "Service", "KillSignal"), "SIGTERM");
  // The relay gives sessions drain_timeout and exits by drain_timeout + 5 s on its own (cli/relay.ts).
  const drain = loadConfig({ env: {}, flags: {} }).config.http.drain_timeout;
  assert.ok(timeSpanMs(value(unit, "Service", "TimeoutStopSec")) > drain + 5_000, "TimeoutStopSec must outlast the drain");
  assert.deepEqual(values(unit, "Service", "AmbientCapabilities"), ["CAP_NET_BIND_SERVICE"]);
  assert.deepEqual(values(unit, "Service", "CapabilityBoundingSet"), ["CAP_NET_BIND_SERVICE"]);
  assert.doesNotMatch(unitText, /CAP_NET_ADMIN/);
  assert.equal(value(unit, "Service", "NoNewPrivileges"), "yes");
  assert.deepEqual(values(unit, "Service", "DynamicUser"), []);
  assert.deepEqual(values(unit, "Service", "LoadCredential"), [], "files are read through the moq-relay group, not credentials");
});

test("the sysusers file creates the moq-relay user and group the unit runs as", { skip: has("systemd-sysusers") ? false : "systemd-sysusers is not installed" }, async (t) => {
  const root = tempDir(t, "sysusers");
  mkdirSync(join(root, "etc"));
  const r = await command("systemd-sysusers", [`--root=${root}`, SYSUSERS_PATH], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const user = value(unit, "Service", "User");
  const passwd = readFileSync(join(root, "etc/passwd"), "utf8").split("\n").find((l) => l.startsWith(`${user}:`));
  assert.ok(passwd, `no ${user} in the generated /etc/passwd`);
  const [, , uid, , , home, shell] = passwd.split(":");
  assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid, got ${uid}`);
  assert.equal(home, value(unit, "Service", "WorkingDirectory"));
  assert.equal(shell, "/usr/sbin/nologin");
  assert.match(readFileSync(join(root, "etc/group"), "utf8"), new RegExp(`^${value(unit, "Service", "Group")}:x:\\d+:`, "m"));
});

/** A config directory laid out as docs/deploying.md says: root:GROUP, dirs 0750, files 0640. */
async function etcMoqRelay(dir: string, gid: number): Promise<{ etc: string; fingerprint: string }> {
  const etc = join(dir, "etc/moq-relay");
  mkdirSync(join(etc, "tls"), { recursive: true });
  const cert = await selfSigned(["localhost", "127.0.0.1"], 7 * 86_400_000);
  // The names systemd/certbot-deploy-hook installs.
  writeFileSync(join(etc, "tls/fullchain.pem"), cert.certPem);
  writeFileSync(join(etc, "tls/privkey.pem"), cert.keyPem);
  // moq-token writes keys root-owned 0600; the guide then hands them to the group.
  const gen = await command(process.execPath, [join(ROOT, "bin/moq-token.js"), "--key", join(etc, "root.jwk"), "generate"], { timeoutMs: 20_000 });
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(statSync(join(etc, "root.jwk")).mode & 0o777, 0o600);
  writeFileSync(
    join(etc, "relay.toml"),
    ['[server]', 'bind = "127.0.0.1:0"', "[tls]", 'cert = "tls/fullchain.pem"', 'key = "tls/privkey.pem"', "[auth]", 'key = "root.jwk"', 'public = "anon"', "[log]", 'format = "json"', ""].join("\n"),
  );
  for (const [p, mode] of [
    ["etc", 0o755],
    ["etc/moq-relay", 0o750],
    ["etc/moq-relay/tls", 0o750],
    ["etc/moq-relay/tls/fullchain.pem", 0o640],
    ["etc/moq-relay/tls/privkey.pem", 0o640],
    ["etc/moq-relay/root.jwk", 0o640],
    ["etc/moq-relay/relay.toml", 0o640],
  ] as const) {
    chownSync(join(dir, p), 0, gid);
    chmodSync(join(dir, p), mode);
  }
  chmodSync(dir, 0o755);
  return { etc, fingerprint: cert.fingerprint };
}

/** The unit's ExecStart with its paths moved under the test's directories. */
function execStart(etc: string): string[] {
  const argv = value(unit, "Service", "ExecStart").split(/\s+/);
  assert.deepEqual(argv.slice(1), ["--config", "/etc/moq-relay/relay.toml"]);
  return [join(ROOT, "bin/moq-relay.js"), "--config", join(etc, "relay.toml")];
}

/** The environment systemd gives the service: its fixed PATH (with our node first) and Environment=. */
function serviceEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
  for (const e of values(unit, "Service", "Environment")) {
    const [k, ...v] = e.split("=");
    env[k!] = v.join("=");
  }
  return env;
}

interface UnitProcess {
  port: number;
  /** The process group: the relay (and strace, when tracing). */
  pgid: number;
  /** The spawned process's exit code (setpriv becomes the relay; strace exits after it). */
  exited: Promise<number | null>;
  log(): string;
}

/** Run the unit's ExecStart as nobody, as systemd would (optionally under strace); wait until it listens. */
async function startUnit(t: TestContext, etc: string, state: string, trace?: string): Promise<UnitProcess> {
  const dropped = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...execStart(etc)];
  const argv = trace !== undefined ? ["strace", "-f", "-qq", "-o", trace, ...dropped] : dropped;
  const child = spawn(argv[0]!, argv.slice(1), { cwd: state, env: serviceEnv(), stdio: ["ignore", "ignore", "pipe"], detached: true });
  t.after(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let log = "";
  const port = await within(
    new Promise<number>((resolve, reject) => {
      child.stderr.on("data", (d: Buffer) => {
        log += d.toString();
        const line = log.split("\n").find((l) => l.includes('"relay listening"'));
        if (line) resolve((JSON.parse(line) as { port: number }).port);
      });
      void exited.then((code) => reject(new Error(`the relay exited (${code}) before listening:\n${log}`)));
    }),
    60_000,
    "the relay to listen",
  );
  return { port, pgid: child.pid!, exited, log: () => log };
}

test(
  "the unit's ExecStart, as an unprivileged user reading its files by group, serves /health and stays inside the syscall filter",
  { skip: process.getuid?.() === 0 && has("setpriv") ? false : "needs root and setpriv to drop to an unprivileged uid" },
  async (t) => {
    const dir = tempDir(t, "unit");
    const { etc, fingerprint } = await etcMoqRelay(dir, NOBODY);
    const state = join(dir, "var/lib/moq-relay");
    mkdirSync(state, { recursive: true });
    chownSync(state, NOBODY, NOBODY);

    const trace = join(dir, "syscalls.txt");
    const strace = has("strace") && has("systemd-analyze");
    const { port, exited, pgid } = await startUnit(t, etc, state, strace ? trace : undefined);
    assert.equal((await get(`http://127.0.0.1:${port}/health`)).status, 200);
    // It serves the certificate it could only read through its group.
    assert.equal((await get(`http://127.0.0.1:${port}/certificate.sha256`)).body, fingerprint);

    // Stop it as systemd would: SIGTERM to the relay (the process setpriv became).
    process.kill(-pgid, "SIGTERM");
    await within(exited, 20_000, "the relay to exit after SIGTERM");
    if (!strace) return;

    const lines = readFileSync(trace, "utf8").split("\n");
    // Count from the moment node runs: systemd drops privileges before exec, as setpriv did here.
    const start = lines.findIndex((l) => /execve\("[^"]*\/node", .* = 0$/.test(l));
    assert.ok(start >= 0, "no execve of node in the trace");
    const calls = new Set<string>();
    const families = new Set<string>();
    for (const l of lines.slice(start)) {
      const m = /^\d+\s+([a-z0-9_]+)\((\w*)/.exec(l);
      if (!m) continue;
      calls.add(m[1]!);
      if (m[1] === "socket") families.add(m[2]!);
    }
    const filters = values(unit, "Service", "SystemCallFilter");
    assert.deepEqual([...calls].filter((c) => !filterAllows(filters, c)).sort(), [], "system calls the unit's SystemCallFilter refuses");
    const allowedFamilies = value(unit, "Service", "RestrictAddressFamilies").split(/\s+/);
    assert.deepEqual([...families].filter((f) => !allowedFamilies.includes(f)), [], "socket families outside RestrictAddressFamilies");
  },
);

test("a key left as moq-token wrote it (root, 0600) stops the unprivileged relay with a message naming the file", { skip: process.getuid?.() === 0 && has("setpriv") ? false : "needs root and setpriv" }, async (t) => {
  const dir = tempDir(t, "eacces");
  const { etc } = await etcMoqRelay(dir, NOBODY);
  chownSync(join(etc, "root.jwk"), 0, 0);
  chmodSync(join(etc, "root.jwk"), 0o600);
  const r = await command("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...execStart(etc)], { env: serviceEnv(), cwd: dir, timeoutMs: 30_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /root\.jwk/);
});

test(
  "the certbot deploy hook installs a renewed certificate for the moq-relay group only and the running relay reloads it",
  { skip: process.getuid?.() === 0 && has("setpriv") ? false : "needs root and setpriv" },
  async (t) => {
    const dir = tempDir(t, "hook");
    const { etc, fingerprint } = await etcMoqRelay(dir, NOBODY);
    const relay = await startUnit(t, etc, dir);
    const url = `http://127.0.0.1:${relay.port}`;
    assert.equal((await get(`${url}/certificate.sha256`)).body, fingerprint);

    // What certbot leaves in /etc/letsencrypt/live/<name>: root-only files.
    const lineage = join(dir, "letsencrypt/live/relay.example.com");
    mkdirSync(lineage, { recursive: true, mode: 0o700 });
    const renewed = await selfSigned(["localhost", "127.0.0.1"], 7 * 86_400_000);
    writeFileSync(join(lineage, "fullchain.pem"), renewed.certPem, { mode: 0o644 });
    writeFileSync(join(lineage, "privkey.pem"), renewed.keyPem, { mode: 0o600 });

    const group = (await command("getent", ["group", String(NOBODY)], { timeoutMs: 10_000 })).stdout.split(":")[0]!;
    const hook = await command(join(ROOT, "systemd/certbot-deploy-hook"), [], {
      timeoutMs: 20_000,
      env: { RENEWED_LINEAGE: lineage, MOQ_RELAY_TLS_DIR: join(etc, "tls"), MOQ_RELAY_GROUP: group, MOQ_RELAY_RELOAD: `kill -HUP ${relay.pgid}` },
    });
    assert.equal(hook.code, 0, hook.stderr);
    for (const f of ["fullchain.pem", "privkey.pem"]) {
      const st = statSync(join(etc, "tls", f));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, NOBODY, 0o640], `${f}: root:${group} 0640`);
    }
    assert.deepEqual(readdirSync(join(etc, "tls")).sort(), ["fullchain.pem", "privkey.pem"], "no temporary files left behind");

    // The relay survived SIGHUP (its default action would end it) and serves the new certificate.
    await within(
      (async () => {
        while ((await get(`${url}/certificate.sha256`)).body !== renewed.fingerprint) await new Promise((r) => setTimeout(r, 100));
      })(),
      15_000,
      "the relay to serve the renewed certificate",
    );
    assert.equal((await get(`${url}/health`)).status, 200);
    process.kill(-relay.pgid, "SIGTERM");
    assert.equal(await within(relay.exited, 20_000, "the relay to exit after SIGTERM"), 0);
  },
);
