// `npm ci --omit=dev` in a built checkout, as the operator ran it: TypeScript is a dev tool,
// so prepare must keep the compiled dist/ instead of failing with "tsc: not found".
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { assertBuilt, command, copyCheckout, NPM_ENV, NPM_TIMEOUT, tempDir } from "./helpers.js";

test("npm ci --omit=dev in a built checkout keeps the compiled dist/ and gives a runnable relay", async (t) => {
  assertBuilt();
  const copy = copyCheckout(tempDir(t, "ci"), true);
  const ci = await command("npm", ["ci", "--omit=dev", "--prefer-offline"], { cwd: copy, env: NPM_ENV, timeoutMs: NPM_TIMEOUT });
  assert.equal(ci.code, 0, `npm ci --omit=dev failed:\n${ci.stdout}\n${ci.stderr}`);
  assert.match(ci.stderr, /TypeScript is not installed \(--omit=dev\): using the compiled dist\/ already here/);
  assert.ok(!existsSync(join(copy, "node_modules/typescript")));
  const check = await command(process.execPath, [join(copy, "bin/moq-relay.js"), "--check"], { cwd: copy, timeoutMs: 20_000 });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /configuration OK/);
});
