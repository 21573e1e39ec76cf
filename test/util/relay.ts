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
