// An accepted transport session becomes a protocol session here: it takes its admission slot
// (refused at once if a limit filled meanwhile), runs under the registry, and logs its life.
import type { Grant } from "../auth/authorize.js";
import { Code } from "../session/error.js";
import { IetfSession } from "../session/ietf/session.js";
import { isIetfAlpn } from "../session/ietf/version.js";
import { LiteSession, type ClusterLink } from "../session/lite/session.js";
import type { Session } from "../transport/session.js";
import { detach } from "../util/async.js";
import type { RelayContext } from "./context.js";
import { MeteredSession } from "./metered.js";

type AcceptContext = Pick<RelayContext, "config" | "log" | "origin" | "admission" | "sessions" | "hop" | "counters" | "auth" | "cluster">;

export function makeAccept(ctx: AcceptContext): RelayContext["accept"] {
  return (session: Session, grant: Grant, viaSetup?: (url: URL) => Promise<Grant>): void => {
    const slot = ctx.admission.take(session.remote);
    if ("refused" in slot) {
      ctx.counters.acceptFailed(session.transport === "websocket" ? "tcp" : "udp", "limit");
      ctx.log.warn({ remote: session.remote, transport: session.transport, reason: slot.refused }, "session refused");
      session.close(Code.BoundsExceeded, slot.refused);
      return;
    }
    const id = ctx.sessions.nextId();
    const protocol = session.protocol || "legacy";
    const slog = ctx.log.child({ session: id, transport: session.transport, remote: session.remote, protocol });
    slog.info({ root: grant.root, publish: grant.publish, subscribe: grant.subscribe, anonymous: grant.anonymous }, "session opened");
    const started = Date.now();
    ctx.counters.sessionOpened(session.transport, protocol);
    // The negotiated protocol picks the wire: IETF moq-transport drafts, else moq-lite.
    // IETF SETUP may carry an AUTHORIZATION_TOKEN on any transport: it is checked like ?jwt=.
    const ietf = isIetfAlpn(session.protocol);
    const authorize = viaSetup ?? (ietf ? (url: URL): Promise<Grant> => ctx.auth.authorize(url) : undefined);
    // Counted for the close line's bytes_in/bytes_out (and a cluster link's /nodes entry).
    const metered = new MeteredSession(session);
    // A session whose final grant carries the cluster claim is a peer relay's link.
    let peer: ReturnType<NonNullable<typeof ctx.cluster>["accepted"]>;
    const linkFor = (g: { cluster?: boolean }): ClusterLink | undefined => {
      peer = ctx.cluster?.accepted(metered, g);
      if (peer !== undefined && s instanceof LiteSession) peer.bind(s);
      return peer?.link;
    };
    const sctx = { origin: ctx.origin, grant, config: ctx.config, hopId: ctx.hop, log: slog, authorize, linkFor };
    const s = ietf ? new IetfSession(metered, sctx) : new LiteSession(metered, sctx);
    slot.revoked?.then(
      (reason) => {
        ctx.counters.acceptFailed("udp", "limit");
        slog.warn({ reason }, "session refused");
        s.close(Code.BoundsExceeded, reason);
      },
      () => undefined,
    );
    detach(
      ctx.sessions.run(id, s, slot.release).then((info) => {
        peer?.done();
        ctx.counters.sessionClosed(session.transport, protocol, info.code);
        const { in: bytesIn, out: bytesOut } = metered.bytes;
        slog.info({ root: grant.root, duration_ms: Date.now() - started, bytes_in: bytesIn, bytes_out: bytesOut, code: info.code, reason: info.reason }, "session closed");
      }),
      (err) => slog.error({ err }, "session bookkeeping failed"),
    );
  };
}
