#!/usr/bin/env node
// The compiled CLI lives in dist/ (shipped in the npm tarball, built by `npm run build` in a checkout).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/relay.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "moq-relay: dist/ is missing: this checkout was never built. Run `npm ci && npm run build`, or install the packed tarball (npm pack).\n",
  );
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
