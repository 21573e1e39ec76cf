// The install paths an operator takes, run for real: the packed tarball installed globally with
// --omit=dev (ci.test.ts covers `npm ci --omit=dev`), and the clear refusals when nothing is built.
// npm works from its cache where it can (--prefer-offline) and every step is bounded in time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../util/spawn.js";
import { assertBuilt, command, copyCheckout, get, NPM_ENV, NPM_TIMEOUT, startRelayCommand, tempDir } from "./helpers.js";

test("the packed tarball installs globally with --omit=dev and its moq-relay and moq-token run", async (t) => {
  assertBuilt();
  const dir = tempDir(t, "pack");
  // Scripts skipped: dist/ is the one `npm run build` just made (prepack would rebuild the same).
  const packed = await command("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, env: NPM_ENV, timeoutMs: 60_000 });
  assert.equal(packed.code, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(info !== undefined);
  const files = info.files.map((f) => f.path);
  for (const f of ["bin/moq-relay.js", "bin/moq-token.js", "dist/cli/relay.js", "dist/cli/token.js", "dist/server.js", "scripts/build.js", "systemd/moq-relay.service", "relay.toml.example"]) {
    assert.ok(files.includes(f), `the tarball lacks ${f}`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|fuzz|cdn|node_modules)\//.test(f)), [], "sources, tests and deployment files stay out of the tarball");

  const prefix = join(dir, "prefix");
  const installed = await command(
    "npm",
    ["install", "--global", "--prefix", prefix, "--omit=dev", "--prefer-offline", join(dir, info.filename)],
    { cwd: dir, env: NPM_ENV, timeoutMs: NPM_TIMEOUT },
  );
  assert.equal(installed.code, 0, `npm install -g of the tarball failed:\n${installed.stderr}`);
  const pkgDir = join(prefix, "lib/node_modules/moq-relay");
  assert.ok(readdirSync(join(pkgDir, "node_modules")).includes("pino"), "runtime dependencies sit in the package's node_modules");
  for (const dev of ["typescript", "tsx", "eslint", "@moq/net"]) assert.ok(!existsSync(join(pkgDir, "node_modules", dev)), `${dev} (a devDependency) was installed`);

  // Run from a directory far from our checkout, so nothing resolves through our node_modules.
  const check = await command(join(prefix, "bin/moq-relay"), ["--check"], { cwd: dir, timeoutMs: 20_000 });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /configuration OK/);
  const help = await command(join(prefix, "bin/moq-token"), ["--help"], { cwd: dir, timeoutMs: 20_000 });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /moq-token generate/);
  assert.match(help.stdout, /moq-token sign/);

  // --check never loads the transports; a real start proves every runtime import is a dependency.
  const relay = await startRelayCommand(t, [join(prefix, "bin/moq-relay"), "--bind", "127.0.0.1:0", "--log-format", "json"], { cwd: dir });
  const health = await get(`http://127.0.0.1:${relay.port}/health`);
  assert.equal(health.status, 200);
  assert.equal(await relay.stop(), 0);
});

test("with neither dist/ nor TypeScript, prepare, pack and the binaries each say what to do", async (t) => {
  const copy = copyCheckout(tempDir(t, "bare"), false);
  const prepare = await command(process.execPath, [join(copy, "scripts/build.js"), "prepare"], { cwd: copy, timeoutMs: 20_000 });
  assert.equal(prepare.code, 1);
  assert.match(prepare.stderr, /dist\/ is missing and TypeScript is not installed/);
  assert.match(prepare.stderr, /npm install -g --omit=dev moq-relay-\*\.tgz/);
  const pack = await command(process.execPath, [join(copy, "scripts/build.js"), "pack"], { cwd: copy, timeoutMs: 20_000 });
  assert.equal(pack.code, 1);
  assert.match(pack.stderr, /cannot pack without TypeScript/);
  for (const bin of ["moq-relay", "moq-token"]) {
    const r = await command(process.execPath, [join(copy, `bin/${bin}.js`), "--help"], { cwd: copy, timeoutMs: 20_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${bin}: dist/ is missing: this checkout was never built`));
  }
});
