// Reads gen/nodes.json (written by `tofu apply`) for the justfile: `node nodes.mjs keys`,
// `node nodes.mjs <field> <node>` (fqdn, url, ipv4, ipv6), `node nodes.mjs domain|email`.
import { readFileSync } from "node:fs";

const file = new URL("gen/nodes.json", import.meta.url);
let state;
try {
  state = JSON.parse(readFileSync(file, "utf8"));
} catch {
  process.stderr.write("cdn: gen/nodes.json is missing: run `tofu apply` first\n");
  process.exit(1);
}
const [what, key] = process.argv.slice(2);
if (what === "keys") {
  process.stdout.write(`${Object.keys(state.nodes).sort().join(" ")}\n`);
} else if (what === "domain" || what === "email") {
  process.stdout.write(`${state[what]}\n`);
} else {
  const node = state.nodes[key ?? ""];
  if (node === undefined) {
    process.stderr.write(`cdn: no node ${JSON.stringify(key)}; nodes: ${Object.keys(state.nodes).sort().join(", ")}\n`);
    process.exit(1);
  }
  if (!(what in node)) {
    process.stderr.write(`cdn: unknown field ${what} (fqdn, url, ipv4, ipv6)\n`);
    process.exit(2);
  }
  process.stdout.write(`${node[what]}\n`);
}
