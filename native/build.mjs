/* global process, console */
// Install step: compile the optional UDP batch-send helper (native/udp_batch.c) with the system's
// gcc and the headers from the npm package node-api-headers; nothing is downloaded. Any failure
// (no gcc, no headers, not Linux) leaves the relay on node:dgram and says so in one line.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
try {
  if (process.platform !== "linux") throw new Error(`${process.platform} is not Linux`);
  if (process.env.MOQ_NO_NATIVE) throw new Error("MOQ_NO_NATIVE is set");
  const include = join(dirname(createRequire(import.meta.url).resolve("node-api-headers/package.json")), "include");
  mkdirSync(join(here, "build"), { recursive: true });
  execFileSync("gcc", ["-O2", "-shared", "-fPIC", "-Wall", "-I", include, join(here, "udp_batch.c"), "-o", join(here, "build", "udp_batch.node")], { stdio: ["ignore", "ignore", "pipe"] });
} catch (e) {
  const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
  console.log(`moq-relay: optional UDP batch helper not built (${why}); QUIC sends through node:dgram`);
}
