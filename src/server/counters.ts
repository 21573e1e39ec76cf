// Counters the server layer keeps about sessions and refusals, beside the relay core's RelayStats:
// plain numbers in maps whose keys come from closed sets (transport kinds, negotiated protocols
// from server.versions, AuthError reasons, MoQ code names, listener and failure classes), so a
// peer can never grow them. The metrics exporter reads them when scraped.
import { Code } from "../session/error.js";

/** Which listener a connection arrived on. */
export type ListenerKind = "tcp" | "udp";

/** Why a connection never became a session. */
export type FailureClass = "unauthorized" | "limit" | "starting" | "draining" | "tls" | "protocol" | "error";

const CODE_NAMES = new Map<number, string>(Object.entries(Code).map(([name, code]) => [code, name]));

/** A close code's name ("ProtocolViolation"), "none" for a clean close, "other" outside the table. */
export function codeName(code: number): string {
  if (code === 0) return "none";
  // Application codes travel as 64 + n on some transports.
  return CODE_NAMES.get(code) ?? CODE_NAMES.get(code - 64) ?? "other";
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export class ServerCounters {
  /** Sessions opened / closed, keyed "transport protocol". */
  readonly opened = new Map<string, number>();
  readonly closed = new Map<string, number>();
  /** Sessions that closed with an error, keyed by codeName (never "none"). */
  readonly errors = new Map<string, number>();
  /** Connections refused by auth, keyed by AuthError reason. */
  readonly authRefusals = new Map<string, number>();
  /** Connections that never became a session, keyed "listener class". */
  readonly acceptFailures = new Map<string, number>();

  sessionOpened(transport: string, protocol: string): void {
    bump(this.opened, `${transport} ${protocol}`);
  }

  sessionClosed(transport: string, protocol: string, code: number): void {
    bump(this.closed, `${transport} ${protocol}`);
    const name = codeName(code);
    if (name !== "none" && name !== "Cancel") bump(this.errors, name);
  }

  authRefused(reason: string): void {
    bump(this.authRefusals, reason);
  }

  acceptFailed(listener: ListenerKind, cls: FailureClass): void {
    bump(this.acceptFailures, `${listener} ${cls}`);
  }
}
