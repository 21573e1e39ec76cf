// Drain: refuse new sessions, ask live ones to go away (GOAWAY), give them http.drain_timeout to
// leave on their own, then close what remains and release every socket and timer.
import type { RelayContext } from "./context.js";

export interface Part {
  /** Tell connections that carry several sessions (HTTP/3) to take no new ones. */
  goaway?(): void;
  /** Stop taking new sessions on this listener and close its live ones. */
  stopSessions?(): void;
  /** Resolves once the part's own sessions are gone (worker processes keep theirs). */
  whenEmpty?(): Promise<void>;
  /** Release the listener's sockets. */
  close(): Promise<void>;
}

export async function drain(ctx: RelayContext, parts: Part[]): Promise<void> {
  ctx.draining = true;
  ctx.sessions.goawayAll();
  for (const p of parts) p.goaway?.();
  let timer: NodeJS.Timeout | undefined;
  const empty = Promise.all([ctx.sessions.whenEmpty(), ...parts.map((p) => p.whenEmpty?.())]);
  await Promise.race([empty, new Promise<void>((r) => (timer = setTimeout(r, ctx.config.http.drain_timeout)))]);
  clearTimeout(timer);
  ctx.sessions.closeAll(0, "relay shutting down");
  for (const p of parts) p.stopSessions?.();
  for (const p of parts) await p.close();
}
