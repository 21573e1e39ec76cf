// A relay core plus moq-lite sessions over in-memory transports: everything but the network.
import type { CacheConfig, LimitsConfig } from "../../src/config/types.js";
import { Origin } from "../../src/relay/origin.js";
import { LiteSession, type LiteGrant } from "../../src/session/lite/session.js";
import { alpnFor, type Version } from "../../src/session/lite/version.js";
import type { CloseInfo } from "../../src/transport/session.js";
import { silentLogger, type Logger } from "../../src/util/log.js";
import { FakeClient } from "./client.js";
import { sessionPair, type MemSession, type PairOptions } from "./pair.js";

export const RELAY_HOP = 0x5e1a7n;

export const LIMITS: LimitsConfig = {
  max_sessions: 0,
  max_sessions_per_ip: 0,
  max_message_size: 64 * 1024,
  max_frame_size: 16 * 1024 * 1024,
  max_broadcasts_per_session: 100,
  max_subscriptions_per_session: 100,
  handshake_timeout: 2000,
  head_timeout: 2000,
  max_handshakes: 1024,
  max_handshakes_per_ip: 32,
  max_header_size: 16 * 1024,
  max_capsule_size: 64 * 1024,
  subscriber_queue_groups: 4,
  subscriber_max_latency: 0,
  max_fetches_per_session: 32,
  fetch_timeout: 8000,
  max_pending_requests: 64,
};

export interface Connected {
  client: FakeClient;
  /** The client's end of the transport. */
  transport: MemSession;
  /** The relay's end. */
  server: MemSession;
  /** The relay's moq-lite session. */
  session: LiteSession;
  /** Resolves when the relay's session ends (with what it saw). */
  done: Promise<CloseInfo>;
}

export class TestRelay {
  readonly origin: Origin;
  private readonly live: Connected[] = [];
  /** The relay's timers are unref'd (real sockets keep a process alive); in-memory ones do not. */
  private readonly keepAlive = setInterval(() => undefined, 60_000);

  get sessions(): LiteSession[] {
    return this.live.map((c) => c.session);
  }

  constructor(
    readonly opts: { cache?: Partial<CacheConfig>; limits?: Partial<LimitsConfig>; versions?: string[]; log?: Logger } = {},
  ) {
    this.origin = new Origin({ cache: { max_bytes: 64 << 20, max_age: 30_000, linger: 0, ...opts.cache }, limits: { ...LIMITS, ...opts.limits } });
  }

  /**
   * A client connected with `grant` (default: anonymous at root "anon", publish and subscribe
   * everything under it) on `version`; start() (SETUP / legacy handshake) is left to the test
   * when `start` is false.
   */
  async connect(o: { version?: Version; grant?: Partial<LiteGrant>; pair?: PairOptions; start?: boolean; authorize?: (url: URL) => Promise<LiteGrant> } = {}): Promise<Connected> {
    const version = o.version ?? 0xff0dad05;
    const protocol = o.pair?.protocol ?? (version <= 0xff0dad02 ? "" : alpnFor(version));
    const { client: transport, server } = sessionPair({ ...o.pair, protocol });
    const grant: LiteGrant = { root: "anon", publish: [""], subscribe: [""], ...o.grant };
    const session = new LiteSession(server, {
      grant,
      origin: this.origin,
      config: { limits: { ...LIMITS, ...this.opts.limits }, server: { versions: this.opts.versions ?? ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"] } },
      log: this.opts.log ?? silentLogger(),
      hopId: RELAY_HOP,
      authorize: o.authorize,
    });
    const done = session.run();
    const client = new FakeClient(transport, version);
    const c = { client, transport, server, session, done };
    this.live.push(c);
    if (o.start !== false) await client.start();
    return c;
  }

  /** Close every session and the origin. */
  close(): void {
    for (const c of this.live) c.transport.close(0, "test over");
    this.origin.close();
    clearInterval(this.keepAlive);
  }
}
