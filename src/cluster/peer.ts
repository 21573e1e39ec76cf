// One configured peer, dialed forever: connect, run a moq-lite session over the link until it
// dies, wait, dial again. Waits grow 1 s, 2 s, 4 s … capped at 10 s, each × U(0.5, 1) so a
// restarted relay is not hit by every peer at once, and reset once a link lived ≥ 10 s. Each state
// change is logged once; repeated failures of the same kind are not.
import type { PeerSpec } from "../config/cluster.js";
import type { Config } from "../config/types.js";
import type { Origin } from "../relay/origin.js";
import { LiteSession, PEER_PARAM } from "../session/lite/session.js";
import { MeteredSession } from "../server/metered.js";
import type { Logger } from "../util/log.js";
import type { Dialer } from "./dial.js";
import { DUPLICATE_CODE, Link, type LinkOwner } from "./link.js";

export const BACKOFF_BASE = 1000;
export const BACKOFF_CAP = 10_000;
/** A link that lived this long resets the backoff. */
export const STABLE_AFTER = 10_000;
const DIAL_TIMEOUT = 5000;

export type PeerState = "connecting" | "connected" | "backoff" | "standby" | "stopped";

/** The wait before dial attempt `failures` (1-based): 1 s doubling to the cap, × U(0.5, 1). */
export function backoffDelay(failures: number, random = Math.random): number {
  const base = Math.min(BACKOFF_CAP, BACKOFF_BASE * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.5 + 0.5 * random()));
}

export interface PeerEnv {
  config: Config;
  origin: Origin;
  hop: bigint;
  dialer: Dialer;
  owner: LinkOwner;
  token: string | undefined;
  log: Logger;
  /** Resolves when no link to `origin` is up any more (an inbound duplicate we deferred to). */
  whenGone(origin: bigint): Promise<void>;
}

export class Peer {
  state: PeerState = "connecting";
  link: Link | undefined;
  lastError: string | undefined;
  /** Origin id the peer declared on its last link. */
  origin = 0n;
  failures = 0;
  private stopped = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: PeerSpec,
    private readonly env: PeerEnv,
  ) {}

  get url(): string {
    return this.spec.url;
  }

  start(): Promise<void> {
    return this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.setState("stopped");
    clearTimeout(this.timer);
    this.wake?.();
    this.link?.session?.close(0, "relay shutting down");
  }

  private setState(s: PeerState, fields: Record<string, unknown> = {}): void {
    if (this.state === s) return;
    this.state = s;
    const log = this.env.log;
    if (s === "connected") log.info({ peer: this.url, origin: this.origin.toString(), ...fields }, "cluster peer connected");
    else if (s === "standby") log.info({ peer: this.url, origin: this.origin.toString() }, "cluster peer already linked by its own dial; standing by");
    else if (s === "backoff" && fields.err !== undefined) log.warn({ peer: this.url, ...fields }, "cluster peer unreachable; will retry");
    else log.debug({ peer: this.url, state: s, ...fields }, "cluster peer state");
  }

  private async loop(): Promise<void> {
    const env = this.env;
    while (!this.stopped) {
      this.setState("connecting");
      const jwt = this.spec.jwt ?? env.token;
      let liveFor = 0;
      let reason: string | undefined;
      try {
        // Marked as a peer's dial: the other relay refuses it unless our token is a cluster token.
        const target = new URL(this.spec.url);
        target.searchParams.set(PEER_PARAM, "1");
        const transport = new MeteredSession(await env.dialer.dial(target, jwt, this.spec.fingerprint, DIAL_TIMEOUT));
        if (this.stopped) {
          transport.close(0, "relay shutting down");
          break;
        }
        const link = new Link(env.owner, "outbound", this.spec.cost, this.url);
        link.bytes = transport.bytes;
        this.link = link;
        const path = `${transport.url.pathname}?${PEER_PARAM}=1${jwt !== undefined ? `&jwt=${encodeURIComponent(jwt)}` : ""}`;
        const session = new LiteSession(transport, {
          origin: env.origin,
          grant: { root: "", publish: [""], subscribe: [""], cluster: true },
          config: env.config,
          hopId: env.hop,
          log: env.log.child({ peer: this.url, transport: transport.transport }),
          dial: { path },
          link,
        });
        link.session = session;
        const started = Date.now();
        const running = session.run();
        // Connected once the peer's SETUP names it (or the link dies first).
        const info = await running;
        liveFor = Date.now() - started;
        this.link = undefined;
        env.owner.released(link);
        if (link.origin !== 0n) this.origin = link.origin;
        if (link.duplicate || info.code === DUPLICATE_CODE) {
          // The peer dials us too and that link is kept: wait until it is gone.
          this.setState("standby");
          await Promise.race([env.whenGone(this.origin), this.sleepUntilStopped()]);
          this.failures = 0;
          continue;
        }
        reason = info.reason || `closed with code ${info.code}`;
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
      if (this.stopped) break;
      if (this.state === "connected") env.log.info({ peer: this.url, origin: this.origin.toString(), err: reason, upMs: liveFor }, "cluster peer link lost");
      if (liveFor >= STABLE_AFTER) this.failures = 0;
      this.failures++;
      const wait = backoffDelay(this.failures);
      this.lastError = reason;
      // The first failure of a streak is news; the retries after it are not.
      if (this.failures === 1) this.setState("backoff", { err: reason, retryMs: wait });
      else {
        this.state = "backoff";
        env.log.debug({ peer: this.url, err: reason, retryMs: wait, attempt: this.failures }, "cluster peer still unreachable");
      }
      await this.sleep(wait);
    }
  }

  /** @internal the link's SETUP identified the peer and it was kept. */
  connected(origin: bigint): void {
    this.origin = origin;
    this.lastError = undefined;
    this.setState("connected");
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  private sleepUntilStopped(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }
}
