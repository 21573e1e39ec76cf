// Real relay processes clustered on 127.0.0.1: one test CA signs each relay's certificate (given
// through [tls] cert/key), peers trust it through NODE_EXTRA_CA_CERTS, every relay gets the same
// nodes list and its own `node`. Helpers read /nodes and the relays' JSON logs.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import { generateKey } from "../../src/token/key.js";
import { signToken } from "../../src/token/claims.js";
import { freePort } from "../util/child-relay.js";
import { ROOT } from "../util/spawn.js";
import { within, type Announcements, type AnnounceEvent } from "../util/moq.js";

interface KeyPairLike {
  publicKey: unknown;
  privateKey: unknown;
}

/** A tiny PKI: a CA and a leaf for 127.0.0.1 / localhost signed by it (PEM). */
export async function pki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as unknown as KeyPairLike;
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as unknown as KeyPairLike;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=moq cluster test CA",
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: caKeys as never,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    issuer: ca.subject,
    subject: "CN=localhost",
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    publicKey: leafKeys.publicKey as never,
    signingKey: caKeys.privateKey as never,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey as never);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString("base64").replace(/.{64}/g, "$&\n").trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString("pem"), certPem: leaf.toString("pem"), keyPem };
}

export interface Node {
  name: string;
  port: number;
  /** https://127.0.0.1:PORT (its cluster URL). */
  url: string;
  child: ChildProcess | undefined;
  logs: string;
  /** http URL for clients (anonymous prefix "anon"). */
  client(path?: string): string;
  start(): Promise<void>;
  kill(): Promise<void>;
  nodes(): Promise<NodesDoc>;
  /** Log lines (parsed JSON) whose msg matches. */
  logged(msg: RegExp): Array<Record<string, unknown>>;
  /** Memory after a full GC in the relay process (started with `probe: true`). */
  mem(): Promise<ProbedMemory>;
}

export interface ProbedMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface NodesDoc {
  node: string;
  origin: string;
  peers: Array<{ url: string | null; direction: string; state: string; origin: string | null; routes: number; broadcasts: number; upstream_subscriptions: number; served_subscriptions: number; transport: string | null; last_error: string | null; attempts: number }>;
  tracks: Array<{ broadcast: string; track: string; upstreams: number; viewers: number; via: string | null }>;
}

export interface ClusterSetup {
  dir: string;
  /** Files: ca.pem, cert.pem, key.pem, root.jwk, cluster.jwt, plain.jwt, expired.jwt. */
  file(name: string): string;
  /** Sign a token with the test key. */
  token(claims: { root?: string; put?: string[]; get?: string[]; cluster?: boolean; exp?: number }): Promise<string>;
}

export async function setup(): Promise<ClusterSetup> {
  const dir = mkdtempSync(join(tmpdir(), "moq-cluster-"));
  const { caPem, certPem, keyPem } = await pki();
  writeFileSync(join(dir, "ca.pem"), caPem);
  writeFileSync(join(dir, "cert.pem"), certPem);
  writeFileSync(join(dir, "key.pem"), keyPem);
  const key = await generateKey("HS256");
  writeFileSync(join(dir, "root.jwk"), JSON.stringify(key));
  const token = (c: { root?: string; put?: string[]; get?: string[]; cluster?: boolean; exp?: number }): Promise<string> => signToken(key, { root: c.root ?? "", put: c.put ?? [""], get: c.get ?? [""], cluster: c.cluster, exp: c.exp });
  writeFileSync(join(dir, "cluster.jwt"), await token({ cluster: true }));
  writeFileSync(join(dir, "plain.jwt"), await token({}));
  writeFileSync(join(dir, "expired.jwt"), await token({ cluster: true, exp: Math.floor(Date.now() / 1000) - 60 }));
  return { dir, file: (n) => join(dir, n), token };
}

export interface NodeOptions {
  /** Node URLs listed in this relay's [cluster] nodes (default: every node). */
  nodes?: string[];
  /** Token file name in the setup dir (default cluster.jwt). */
  token?: string;
  linger?: string;
  extra?: string;
  /** More lines for the [server] and [cluster] sections (TOML allows each table once). */
  server?: string;
  cluster?: string;
  /** Start with --expose-gc and gc-probe.mjs, so mem() can measure memory after a full GC. */
  probe?: boolean;
}

/** Declare relays (ports chosen now, processes started by start()). */
export async function declare(s: ClusterSetup, names: string[]): Promise<Node[]> {
  const out: Node[] = [];
  for (const name of names) {
    const port = await freePort();
    out.push(makeNode(s, name, port));
  }
  return out;
}

function makeNode(s: ClusterSetup, name: string, port: number): Node {
  const url = `https://127.0.0.1:${port}`;
  let opts: NodeOptions & { all: string[] } = { all: [] };
  const probed: ProbedMemory[] = [];
  const node: Node & { configure(o: NodeOptions & { all: string[] }): void } = {
    name,
    port,
    url,
    child: undefined,
    logs: "",
    client: (path = "anon") => `http://127.0.0.1:${port}/${path}`,
    configure(o) {
      opts = o;
    },
    async start() {
      const nodes = opts.nodes ?? opts.all;
      const toml = `[server]
bind = "127.0.0.1:${port}"
${opts.server ?? ""}
[tls]
cert = "${s.file("cert.pem")}"
key = "${s.file("key.pem")}"
[auth]
key = "${s.file("root.jwk")}"
public = "anon"
[cluster]
nodes = ${JSON.stringify(nodes)}
node = "${url}"
token = "${s.file(opts.token ?? "cluster.jwt")}"
linger = "${opts.linger ?? "5s"}"
${opts.cluster ?? ""}
[http]
drain_timeout = "200ms"
${opts.extra ?? ""}
`;
      const cfg = join(s.dir, `${name}.toml`);
      writeFileSync(cfg, toml);
      node.logs = "";
      const probe = opts.probe === true ? ["--expose-gc", "--import", `${ROOT}test/cluster/gc-probe.mjs`] : [];
      const child = spawn(process.execPath, [...probe, `${ROOT}bin/moq-relay.js`, "--config", cfg, "--log-format", "json", "--log-level", "info"], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NODE_EXTRA_CA_CERTS: s.file("ca.pem") },
      });
      node.child = child;
      const collect = (d: Buffer): void => {
        node.logs += d.toString();
        if (node.logs.length > 8 << 20) node.logs = node.logs.slice(-(4 << 20));
      };
      // gc-probe lines are kept apart from the (truncated) log, so mem() never misses one.
      let partial = "";
      const probeLines = (d: Buffer): void => {
        const lines = (partial + d.toString()).split("\n");
        partial = lines.pop() ?? "";
        if (partial.length > 1 << 16) partial = "";
        for (const l of lines) if (l.startsWith('{"msg":"gc-probe"')) probed.push(JSON.parse(l) as ProbedMemory);
      };
      child.stdout?.on("data", collect);
      child.stderr?.on("data", collect);
      if (opts.probe === true) child.stderr?.on("data", probeLines);
      let running = true;
      child.once("exit", () => (running = false));
      await within(
        (async () => {
          while (running) {
            if (await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false)) return;
            await new Promise((r) => setTimeout(r, 50));
          }
          throw new Error(`relay ${name} exited before it was ready:\n${node.logs.slice(-4000)}`);
        })(),
        30_000,
        `relay ${name} to become ready`,
      );
    },
    async kill() {
      const c = node.child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((r) => c.once("exit", r));
      c.kill("SIGKILL");
      await within(gone, 5000, `relay ${name} to exit`);
    },
    async nodes() {
      const r = await fetch(`http://127.0.0.1:${port}/nodes`);
      if (!r.ok) throw new Error(`/nodes on ${name}: HTTP ${r.status} ${await r.text()}`);
      return (await r.json()) as NodesDoc;
    },
    async mem() {
      const c = node.child;
      if (c === undefined || c.exitCode !== null) throw new Error(`relay ${name} is not running`);
      const seen = probed.length;
      c.kill("SIGUSR2");
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (probed.length > seen) return probed[probed.length - 1];
        if (Date.now() > deadline) throw new Error(`relay ${name} wrote no gc-probe line within 10 s (started without probe: true?)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    logged(msg) {
      const out: Array<Record<string, unknown>> = [];
      for (const line of node.logs.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const o = JSON.parse(line) as Record<string, unknown>;
          if (typeof o.msg === "string" && msg.test(o.msg)) out.push(o);
        } catch {
          // a partial line
        }
      }
      return out;
    },
  };
  return node;
}

/** Give every node its options (the full list of URLs is known only once all are declared). */
export function configure(nodes: Node[], per: (n: Node) => NodeOptions = () => ({})): void {
  const all = nodes.map((n) => n.url);
  for (const n of nodes) (n as Node & { configure(o: NodeOptions & { all: string[] }): void }).configure({ ...per(n), all });
}

/** Every announcement event queued so far (waits briefly for stragglers; bounded). */
export async function drain(ann: Announcements, quietMs = 200): Promise<AnnounceEvent[]> {
  const out: AnnounceEvent[] = [];
  for (let i = 0; i < 10_000; i++) {
    try {
      out.push(await ann.next(quietMs));
    } catch {
      return out;
    }
  }
  return out;
}

/** Poll `check` until it returns true (bounded). */
export async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last !== undefined ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
