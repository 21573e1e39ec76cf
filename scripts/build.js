// Build steps npm runs for us, so that every way of installing gives a runnable relay.
//
//   node scripts/build.js pack      (prepack) a clean dist/ (`npm run build`); fails without TypeScript,
//                                   so a tarball never ships stale or missing JavaScript.
//   node scripts/build.js prepare   (prepare) build when TypeScript is installed; otherwise keep
//                                   the dist/ already there: `npm ci --omit=dev` has no tsc, and
//                                   a packed tarball already carries dist/ but no src/.
//
// The relay itself never needs TypeScript at run time: bin/*.js import dist/.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const at = (p) => `${root}${p}`;
const say = (line) => process.stderr.write(`moq-relay: ${line}\n`);
const ENTRY_POINTS = ["dist/cli/relay.js", "dist/cli/token.js"];

function tscPath() {
  try {
    return createRequire(at("package.json")).resolve("typescript/bin/tsc");
  } catch {
    return undefined;
  }
}

/** `npm run build`, whatever it grows into (tsc today; a bundling step may follow). */
function compile() {
  // Inside a lifecycle script npm names itself in npm_execpath; run that same npm.
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm !== undefined && npm.endsWith(".js") ? [process.execPath, [npm]] : ["npm", []];
  const r = spawnSync(cmd, [...args, "run", "build"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const missing = ENTRY_POINTS.filter((p) => !existsSync(at(p)));
  if (missing.length > 0) {
    say(`the build did not produce ${missing.join(", ")}`);
    process.exit(1);
  }
}

const mode = process.argv[2];
if (mode === "pack") {
  const tsc = tscPath();
  if (tsc === undefined) {
    say("cannot pack without TypeScript: run `npm ci` (with dev dependencies) first");
    process.exit(1);
  }
  // Clean, so files of deleted sources never reach the tarball.
  rmSync(at("dist"), { recursive: true, force: true });
  compile();
} else if (mode === "prepare") {
  // `npm pack` runs prepack (a clean build) and then prepare: one build is enough.
  if (process.env.npm_command === "pack" || process.env.npm_command === "publish") process.exit(0);
  const tsc = tscPath();
  if (tsc !== undefined && existsSync(at("src")) && existsSync(at("tsconfig.build.json"))) {
    compile();
  } else if (ENTRY_POINTS.every((p) => existsSync(at(p)))) {
    say("TypeScript is not installed (--omit=dev): using the compiled dist/ already here");
  } else {
    say(
      "dist/ is missing and TypeScript is not installed (--omit=dev), so the relay cannot be built.\n" +
        "  Either install the packed tarball (npm pack; npm install -g --omit=dev moq-relay-*.tgz),\n" +
        "  or build in this checkout first: npm ci && npm run build && npm prune --omit=dev",
    );
    process.exit(1);
  }
} else {
  say(`scripts/build.js: unknown mode ${String(mode)} (expected pack or prepare)`);
  process.exit(2);
}
