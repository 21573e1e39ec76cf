// The check every incoming connection passes before it becomes a session, whatever its transport:
// listening on every transport and not draining, under the session limits (advisory here; the
// slot is taken at accept), and a URL whose token grants something. Refusals log the path and
// reason, never the token.
import { AuthError, type Authenticator } from "../auth/authorize.js";
import { Code } from "../session/error.js";
import type { Logger } from "../util/log.js";
import type { Admission } from "./admission.js";
import type { Decision } from "./context.js";
import type { FailureClass, ListenerKind, ServerCounters } from "./counters.js";

export function makeGate(opts: {
  auth: Authenticator;
  admission: Admission;
  counters: ServerCounters;
  log: Logger;
  draining: () => boolean;
  starting?: () => boolean;
  /** A UDP worker's question to the main process: the relay-wide limit refusing `remote`, if any. */
  relayWide?: (remote: string) => Promise<string | undefined>;
}) {
  return async (url: URL, remote: string, listener?: ListenerKind): Promise<Decision> => {
    const failed = (cls: FailureClass): void => {
      if (listener !== undefined) opts.counters.acceptFailed(listener, cls);
    };
    // Between the TCP and the UDP listener's start a cluster peer's WebTransport dial finds no
    // one and its WebSocket fallback would succeed, leaving the pair on the fallback for the
    // link's life: until every listener is up, nothing is accepted (as /ready says).
    if (opts.starting?.() === true) {
      failed("starting");
      return { ok: false, status: 503, reason: "relay is starting" };
    }
    if (opts.draining()) {
      failed("draining");
      return { ok: false, status: 503, reason: "relay is shutting down" };
    }
    const limit = opts.relayWide !== undefined ? await opts.relayWide(remote) : opts.admission.check(remote);
    if (limit !== undefined) {
      failed("limit");
      opts.log.warn({ remote, reason: limit }, "session refused");
      return { ok: false, status: 429, reason: limit };
    }
    try {
      return { ok: true, value: await opts.auth.authorize(url) };
    } catch (err) {
      if (err instanceof AuthError) {
        failed("unauthorized");
        opts.counters.authRefused(err.reason);
        opts.log.warn({ remote, path: url.pathname, reason: err.reason, code: Code.Unauthorized }, "session unauthorized");
        return { ok: false, status: err.status, reason: err.message };
      }
      throw err;
    }
  };
}
