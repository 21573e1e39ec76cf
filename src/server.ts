// Wires the relay together from one Config: certificate store, relay core, auth, transports,
// HTTP routes, cluster. Owned by the lead; filled in as the parts land.
import type { Config } from "./config/types.js";
import type { Logger } from "./util/log.js";

export interface RelayHandle {
  /** Stop accepting, drain sessions (bounded by http.drain_timeout), release sockets. */
  close(): Promise<void>;
}

export async function startRelay(_config: Config, _log: Logger): Promise<RelayHandle> {
  throw new Error("relay wiring lands with the transports");
}
