// PUBLISH: the client pushes one track, naming the Track Alias its objects will carry. The track
// joins the broadcast its namespace names: the one the client announced with PUBLISH_NAMESPACE,
// else one announced for its pushed tracks alone (closed when the last of them ends). Objects
// reach the relay core once a viewer wants the track; until then they are dropped (the relay
// answers with forward on, as it cannot pause a publisher per track).
import type { BidiStream } from "../../transport/session.js";
import { clip, join } from "../../util/path.js";
import { Code, MoqError } from "../error.js";
import { guardRecv } from "../lite/session-io.js";
import { IetfSource, infoOf, PushedTrack } from "./ingest-source.js";
import type { IetfIngest } from "./ingest.js";
import { type ControlFramer, control } from "./message.js";
import { type Publish, PublishOk } from "./publish.js";
import { RequestCode } from "./request.js";
import { acceptOtherUpdate } from "./update.js";
import { PublishDone, SubscribeType } from "./subscribe.js";

export class IetfPushes {
  /**
   * Sources announced only for pushed tracks, by namespace. The broadcast at that path may be
   * served by another route meanwhile (a newer publisher of the same path), so this session's
   * route is found and withdrawn by its source, never through the broadcast.
   */
  private readonly implicit = new Map<string, IetfSource>();

  constructor(private readonly ingest: IetfIngest) {}

  get implicitCount(): number {
    return this.implicit.size;
  }

  publish(stream: BidiStream, msg: Publish, framer: ControlFramer): void {
    const ingest = this.ingest;
    const s = ingest.s;
    const rel = msg.namespace;
    const abs = join(s.grant.root, rel);
    const existing = ingest.announcedSource(rel) ?? this.implicit.get(rel);
    let refusal = ingest.refusal(rel);
    if (refusal === undefined && existing === undefined && ingest.broadcastCount >= s.limits.max_broadcasts_per_session) refusal = "too-many-broadcasts";
    if (refusal === undefined && existing?.pushed.has(msg.track) === true) refusal = "duplicate";
    if (refusal !== undefined) {
      s.peerLog.write("warn", { path: clip(abs), track: clip(msg.track), reason: refusal }, "PUBLISH refused");
      const code = refusal === "not-permitted" ? RequestCode.Unauthorized : refusal === "duplicate" ? RequestCode.Duplicate : RequestCode.InternalError;
      return s.reject(stream, msg.requestId, code, refusal);
    }
    const pushed = new PushedTrack(msg.alias, infoOf({ ...msg.properties, groupOrder: msg.groupOrder }));
    // A second track under one alias would mix two tracks' objects: the draft's DUPLICATE_TRACK_ALIAS.
    if (!ingest.bindAlias(msg.alias, pushed)) throw new MoqError(Code.Duplicate, `track alias ${msg.alias} is already in use`);
    let src = existing;
    if (src === undefined) {
      src = new IetfSource(ingest, rel);
      s.origin.announce(abs, src, []);
      this.implicit.set(rel, src);
      s.peerLog.write("info", { path: clip(abs) }, "broadcast announced (PUBLISH)");
    }
    src.pushed.set(msg.track, pushed);
    s.requests++;
    s.peerLog.write("info", { path: clip(abs), track: clip(msg.track), alias: msg.alias }, "track pushed");
    stream.send.write(control(s.draft, PublishOk.type(s.draft), (w) => new PublishOk(msg.requestId).encode(w)));
    let ended = false;
    const end = (code?: number): void => {
      if (ended) return;
      ended = true;
      s.requests--;
      ingest.unbindAlias(msg.alias, pushed);
      if (src.pushed.get(msg.track) === pushed) src.pushed.delete(msg.track);
      pushed.end(code);
      if (this.implicit.get(rel) === src && src.pushed.size === 0) {
        this.implicit.delete(rel);
        s.origin.withdraw(abs, src);
        s.peerLog.write("info", { path: clip(abs) }, "broadcast ended");
      }
    };
    guardRecv(
      stream.recv,
      {
        data: (chunk) => {
          framer.push(chunk);
          for (let m = framer.next(); m !== undefined; m = framer.next()) {
            // PUBLISH_DONE ends the track; groups still in flight finish on their own streams.
            if (m.type !== SubscribeType.PublishDone) {
              acceptOtherUpdate(stream.send, m, "PUBLISH");
              continue;
            }
            PublishDone.decode(m.body);
            end();
            stream.send.end();
          }
        },
        end: () => {
          end();
          stream.send.end();
        },
        reset: (code) => end(code),
      },
      (err) => {
        end(Code.Decode);
        s.fail(err);
      },
    );
    stream.send.onStop = () => end(Code.Cancel);
  }

  close(): void {
    const s = this.ingest.s;
    for (const [rel, src] of this.implicit) {
      for (const p of src.pushed.values()) p.dispose();
      s.origin.withdraw(join(s.grant.root, rel), src);
    }
    this.implicit.clear();
  }
}
