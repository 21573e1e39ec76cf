// cdn/ without OpenTofu (none is installable here): every .tf parses, each node's relay.toml
// rendered from the template for a three-region example passes `moq-relay --check` with the same
// [cluster] nodes everywhere, the firewall opens what the relay needs, and `just secrets` makes
// the keys and tokens the guide describes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { createRequire } from "node:module";
import { selfSigned } from "../../src/transport/tls/certificate.js";
import { ROOT } from "../util/spawn.js";
import { command, JUST, NO_JUST, tempDir } from "./helpers.js";

// Loaded untyped: @cdktf/hcl2json's typings add lib "dom" to the whole program, which breaks
// the types of node:crypto and WebTransport elsewhere.
const { parse } = createRequire(import.meta.url)("@cdktf/hcl2json") as { parse(filename: string, contents: string): Promise<unknown> };

const CDN = join(ROOT, "cdn");
const TOKEN_CLI = join(ROOT, "bin/moq-token.js");

function tfFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tfFiles(join(dir, e.name)) : e.name.endsWith(".tf") ? [join(dir, e.name)] : []));
}

type Hcl = Record<string, unknown>;
const parseTf = async (file: string): Promise<Hcl> => (await parse(relative(ROOT, file), readFileSync(file, "utf8"))) as Hcl;

/**
 * templatefile() for the two forms the template uses: ${name} and ${jsonencode(name)}. Anything
 * else (other functions, %{ } directives) is refused, so the template cannot outgrow this renderer.
 */
function renderTemplate(text: string, vars: Record<string, unknown>): string {
  if (text.includes("%{")) throw new Error("template directives (%{ }) are not supported by the test renderer");
  return text.replace(/\$\{([^}]*)\}/g, (_all, expr: string) => {
    const m = /^\s*(?:(jsonencode)\(\s*([a-z_]+)\s*\)|([a-z_]+))\s*$/.exec(expr);
    if (!m) throw new Error(`unsupported template expression \${${expr}}`);
    const name = m[2] ?? m[3]!;
    if (!(name in vars)) throw new Error(`template variable ${name} is not passed by main.tf`);
    const v = vars[name];
    if (m[1] === "jsonencode") return JSON.stringify(v);
    if (typeof v !== "string" && typeof v !== "number") throw new Error(`\${${name}} needs a string or number`);
    return String(v);
  });
}

test("every .tf file in cdn/ parses as HCL2", async () => {
  const files = tfFiles(CDN);
  assert.ok(files.length >= 5, `expected the cdn/ modules, found ${files.join(", ")}`);
  for (const f of files) await assert.doesNotReject(parseTf(f), `${relative(ROOT, f)} does not parse`);
  // The parser reports a mistake with its position, which is what CI relies on.
  await assert.rejects(parse("broken.tf", 'resource "a" "b" {\n  x = \n}\n'), /broken\.tf:2,/);
});

test("the inputs, the one-module-per-provider layout and the firewall are as the guide describes", async () => {
  const input = (await parseTf(join(CDN, "input.tf"))).variable as Hcl;
  for (const v of ["linode_token", "domain", "regions", "node_type", "email", "ssh_keys", "gcp_project", "relay_port"]) assert.ok(v in input, `input.tf lacks ${v}`);
  const main = await parseTf(join(CDN, "main.tf"));
  const node = ((main.module as Hcl).node as Hcl[])[0]!;
  assert.equal(node.source, "./linode");
  // Nothing Linode-specific outside the module.
  for (const f of tfFiles(CDN).filter((f) => !f.includes("/linode/") && !f.endsWith("versions.tf"))) {
    assert.doesNotMatch(readFileSync(f, "utf8"), /resource\s+"linode_/, `${relative(ROOT, f)} creates Linode resources outside cdn/linode`);
  }
  const fw = (((await parseTf(join(CDN, "linode/main.tf"))).resource as Hcl).linode_firewall as Hcl).relay as Hcl[];
  const rules = (fw[0]!.inbound as { protocol: string; ports?: string; action: string }[]).filter((r) => r.action === "ACCEPT");
  const open = rules.map((r) => `${r.protocol} ${r.ports ?? "*"}`);
  for (const want of ["UDP ${tostring(var.relay_port)}", "TCP ${tostring(var.relay_port)}", "TCP 22"]) assert.ok(open.includes(want), `firewall lacks ${want}: ${open.join(", ")}`);
  assert.equal(fw[0]!.inbound_policy, "DROP");
  const example = readFileSync(join(CDN, "terraform.tfvars.example"), "utf8");
  for (const v of ["linode_token", "domain", "regions", "node_type"]) assert.match(example, new RegExp(`^${v}\\s*=`, "m"));
});

test("each node's relay.toml from the template passes moq-relay --check, with one [cluster] nodes list", async (t) => {
  const main = await parseTf(join(CDN, "main.tf"));
  const call = String((((main.resource as Hcl).local_file as Hcl).relay_toml as Hcl[])[0]!.content);
  const passed = [...call.matchAll(/^\s*([a-z_]+)\s*=/gm)].map((m) => m[1]!).sort();
  const template = readFileSync(join(CDN, "relay.toml.tftpl"), "utf8");
  const used = [...new Set([...template.matchAll(/\$\{(?:jsonencode\()?([a-z_]+)/g)].map((m) => m[1]!))].sort();
  assert.deepEqual(used, passed, "the template uses exactly the variables main.tf passes");

  // main.tf's locals for a three-region example on the default port.
  const domain = "cdn.example.com";
  const keys = ["usc", "euc", "sea"];
  const urls = Object.fromEntries([...keys].sort().map((k) => [k, `https://${k}.${domain}`]));
  const dir = tempDir(t, "cdn");
  const secrets = join(dir, "secrets");
  mkdirSync(secrets);
  assert.equal((await command(process.execPath, [TOKEN_CLI, "--key", join(secrets, "root.jwk"), "generate"], { timeoutMs: 20_000 })).code, 0);
  const cluster = await command(process.execPath, [TOKEN_CLI, "--key", join(secrets, "root.jwk"), "sign", "--root", "", "--publish", "", "--subscribe", "", "--cluster"], { timeoutMs: 20_000 });
  assert.equal(cluster.code, 0, cluster.stderr);

  const lists: string[][] = [];
  for (const key of keys) {
    const etc = join(dir, key);
    mkdirSync(join(etc, "tls"), { recursive: true });
    const cert = await selfSigned([`${key}.${domain}`, domain], 7 * 86_400_000);
    writeFileSync(join(etc, "tls/fullchain.pem"), cert.certPem);
    writeFileSync(join(etc, "tls/privkey.pem"), cert.keyPem);
    writeFileSync(join(etc, "root.jwk"), readFileSync(join(secrets, "root.jwk")));
    writeFileSync(join(etc, "cluster.jwt"), cluster.stdout);
    const toml = renderTemplate(template, { port: 443, node: urls[key], nodes: Object.values(urls), public_publish: ["anon"], public_subscribe: ["anon", "demo"] });
    writeFileSync(join(etc, "relay.toml"), toml);
    const r = await command(process.execPath, [join(ROOT, "bin/moq-relay.js"), "--config", join(etc, "relay.toml"), "--check"], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${key}: ${r.stderr}\n${toml}`);
    const effective = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { server: { bind: string }; cluster: { nodes: string[]; node: string } };
    assert.equal(effective.server.bind, "[::]:443");
    assert.equal(effective.cluster.node, urls[key]);
    assert.ok(effective.cluster.nodes.includes(effective.cluster.node), `${key} is in its own nodes list`);
    lists.push(effective.cluster.nodes);
  }
  for (const l of lists) assert.deepEqual(l, lists[0], "every node has the same [cluster] nodes");
  assert.deepEqual(lists[0], [...new Set(lists[0])].sort(), "the list is sorted and has no duplicates");
  assert.equal(lists[0]!.length, keys.length);
});

test("just secrets makes the root key, a full-access cluster token and a demo publisher token once", { skip: NO_JUST }, async (t) => {
  const dir = tempDir(t, "secrets");
  const just = (...args: string[]) => command(JUST!, ["--justfile", join(CDN, "justfile"), "--working-directory", dir, ...args], { timeoutMs: 60_000 });
  const listed = await just("--list");
  assert.equal(listed.code, 0, listed.stderr);
  for (const r of ["deploy-all", "deploy node", "ssh node", "logs node", "health", "check", "secrets"]) assert.match(listed.stdout, new RegExp(`^\\s+${r}\\b`, "m"));
  const made = await just("secrets");
  assert.equal(made.code, 0, made.stderr);
  const key = join(dir, "secrets/root.jwk");
  const claims = async (file: string) => {
    const r = await command(process.execPath, [TOKEN_CLI, "--key", key, "verify", readFileSync(join(dir, "secrets", file), "utf8").trim()], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { root: string; put?: string[]; get?: string[]; cluster?: boolean };
  };
  const peer = await claims("cluster.jwt");
  assert.deepEqual([peer.root, peer.put, peer.get, peer.cluster], ["", [""], [""], true]);
  const demo = await claims("demo-pub.jwt");
  assert.equal(demo.root, "demo");
  assert.deepEqual(demo.put, [""]);
  // A second run keeps what exists (tokens stay valid on deployed nodes).
  const before = readFileSync(key, "utf8");
  assert.equal((await just("secrets")).code, 0);
  assert.equal(readFileSync(key, "utf8"), before);
});

test("the node setup script and the certbot hook are valid shell", async () => {
  for (const [shell, file] of [["bash", "cdn/node/setup.sh"], ["sh", "systemd/certbot-deploy-hook"]] as const) {
    const r = await command(shell, ["-n", join(ROOT, file)], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, `${file}: ${r.stderr}`);
  }
  const setup = readFileSync(join(CDN, "node/setup.sh"), "utf8");
  // It installs the tarball and the unit this repository ships, and the hook that reloads on renewal.
  assert.match(setup, /npm install -g --prefix "\$prefix" --omit=dev/);
  assert.match(setup, /systemd\/moq-relay\.service/);
  assert.match(setup, /--deploy-hook "\$pkg\/systemd\/certbot-deploy-hook"/);
  assert.match(setup, /--dns-google/);
  assert.match(setup, /certbot\.timer/);
});
