// Start a real relay in-process on a free loopback port, with the same config loader users get.
import { loadConfig, type FlagValue } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { startRelay, type RelayHandle } from "../../src/server.js";
import { createLogger, silentLogger } from "../../src/util/log.js";

export interface TestRelay extends RelayHandle {
  config: Config;
  /** http://127.0.0.1:PORT/<path> */
  url(path?: string, jwt?: string): URL;
}

export async function startTestRelay(flags: Record<string, FlagValue> = {}): Promise<TestRelay> {
  const { config } = loadConfig({
    env: {},
    flags: { "server.bind": "127.0.0.1:0", "http.drain_timeout": "200ms", ...flags },
  });
  const log = process.env.MOQ_TEST_LOG ? createLogger({ level: "debug", format: "pretty" }) : silentLogger();
  const handle = await startRelay(config, log);
  return Object.assign(handle, {
    config,
    url(path = "", jwt?: string): URL {
      const u = new URL(`http://127.0.0.1:${handle.port}/${path}`);
      if (jwt !== undefined) u.searchParams.set("jwt", jwt);
      return u;
    },
  });
}

/**
 * Resolve once the relay serves `path`'s `track` live: at least `viewers` viewers and an upstream
 * subscription, and (given the publisher) the publisher was asked for the track. A group published
 * before then would be skipped by a live viewer, so tests wait for this instead of sleeping.
 */
export async function servingLive(relay: RelayHandle, path: string, track: string, opts: { viewers?: number; publisher?: { waitSubscribed(ms?: number): Promise<void> }; ms?: number } = {}): Promise<void> {
  const ms = opts.ms ?? 5000;
  const deadline = Date.now() + ms;
  for (;;) {
    const served = viewersServed(relay, path, track);
    if (served !== undefined && served >= (opts.viewers ?? 1)) break;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for the relay to serve ${path}/${track} live`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await opts.publisher?.waitSubscribed(Math.max(1, deadline - Date.now()));
}

/**
 * The viewers of `path`'s `track` that the relay serves from an upstream subscription, over every
 * process holding the track: the main process's relay core and, with [server] workers, each
 * worker's (from its latest snapshot). Every holder but the one with the publisher pulls the
 * track over an internal link, which the holder upstream of it counts as one more viewer.
 */
function viewersServed(relay: RelayHandle, path: string, track: string): number | undefined {
  let holders = 0;
  let viewers = 0;
  const t = relay.origin.lookup(path)?.peek(track);
  if (t !== undefined && t.hasUpstream) {
    holders++;
    viewers += t.viewerCount;
  }
  for (const s of relay.context.workers?.snapshots ?? []) {
    for (const w of s?.tracks ?? []) {
      if (w.broadcast !== path || w.track !== track) continue;
      holders++;
      viewers += w.viewers;
    }
  }
  return holders === 0 ? undefined : viewers - (holders - 1);
}
