// The first browser tests (test/browser/) drive the page through `globalThis.moq`, `moqReady`
// and `moqPublish`; kept working on top of the shared helpers. New tests use ../browser.ts.
import { connectPage } from "./connect.js";
import { publish, subscribe, waitAnnounced } from "./core.js";

interface LegacyOptions {
  websocketOnly?: boolean;
  hash?: string;
  /** The subscription's latency window (ms): a burst of groups must all arrive, not just the newest. */
  latencyMax?: number;
}

interface LegacyGroups {
  version: string;
  groups: Array<{ sequence: number; frames: string[] }>;
}

function connect(url: string, opts: LegacyOptions) {
  return connectPage(new URL(url), { transport: opts.websocketOnly ? "websocket" : "webtransport", certificateHash: opts.hash, timeoutMs: 10_000 });
}

export function installLegacyApi(): void {
  const decoder = new TextDecoder();
  const moq = {
    /** Connect, wait for `path`, subscribe (then set moqReady) and return `count` groups as text. */
    async subscribe(url: string, path: string, track: string, count: number, opts: LegacyOptions): Promise<LegacyGroups> {
      const conn = await connect(url, opts);
      await waitAnnounced(conn, "", path, 10_000);
      const reader = subscribe(conn, path, track, opts.latencyMax === undefined ? {} : { latencyMax: opts.latencyMax });
      Reflect.set(globalThis, "moqReady", true);
      const groups: LegacyGroups["groups"] = [];
      while (groups.length < count) {
        const g = await reader.nextGroup(10_000);
        groups.push({ sequence: g.sequence, frames: g.frames.map((f) => decoder.decode(f)) });
      }
      const version = conn.version;
      conn.close();
      return { version, groups };
    },

    /**
     * Connect and publish; `moqPublish()` then waits (bounded) until the relay asks for the track
     * and writes `groups`: a group written before a viewer's subscription reached the publisher
     * is skipped by that live viewer.
     */
    async publish(url: string, path: string, track: string, groups: string[][], opts: LegacyOptions): Promise<string> {
      const conn = await connect(url, opts);
      const p = publish(conn, path, track);
      Reflect.set(globalThis, "moqPublish", async () => {
        await p.waitSubscribed(10_000);
        for (const frames of groups) p.group(frames);
      });
      return conn.version;
    },
  };
  Reflect.set(globalThis, "moq", moq);
}
