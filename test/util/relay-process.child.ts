// The relay process behind relay-process.ts: argv[2] is a JSON object of config flags, argv[3]
// "log" logs JSON at debug level to stdout. Control lines on stdout start with "@"; "mem" on stdin
// answers with memory after GC; end of stdin shuts the relay down and exits.
import { createInterface } from "node:readline";
import { loadConfig, type FlagValue } from "../../src/config/load.js";
import { startRelay } from "../../src/server.js";
import { createLogger, silentLogger } from "../../src/util/log.js";
import { heapAfterGc } from "./heap.js";

const flags = JSON.parse(process.argv[2] ?? "{}") as Record<string, FlagValue>;
// One process unless a test asks for workers: "mem" measures the heap of this process only, and
// with UDP worker processes (the default on Node >= 22.12) the QUIC sessions under test, and what
// they hold, would live in the workers instead.
const { config } = loadConfig({ env: {}, flags: { "server.bind": "127.0.0.1:0", "http.drain_timeout": "200ms", "server.workers": 1, ...flags } });
const log = process.argv[3] === "log" ? createLogger({ level: "debug", format: "json" }, process.stdout) : silentLogger();
const relay = await startRelay(config, log);
const say = (v: unknown): void => void process.stdout.write(`@${JSON.stringify(v)}\n`);
say({ port: relay.port, fingerprint: relay.certs.current.fingerprint });
const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line === "mem") heapAfterGc().then(say, (e: unknown) => say({ error: String(e) }));
});
input.on("close", () => {
  relay.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
