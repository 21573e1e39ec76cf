// PUBLISH: the client pushes one track, naming the Track Alias its objects will carry. The track
// joins the broadcast its namespace names: the one the client announced with PUBLISH_NAMESPACE,
// else one announced for its pushed tracks alone (closed when the last of them ends). Objects
// reach the relay core once a viewer wants the track; until then they are dropped (the relay
// answers with forward on, as it cannot pause a publisher per track).
import type { Broadcast } from "../../relay/broadcast.js";
import type { BidiStream } from "../../transport/session.js";
import { join } from "../../util/path.js";
import { Code, MoqError } from "../error.js";
import { guardRecv } from "../lite/session-io.js";
import { IetfSource, infoOf, PushedTrack } from "./ingest-source.js";
import type { IetfIngest } from "./ingest.js";
import { type ControlFramer, control } from "./message.js";
import { type Publish, PublishOk } from "./publish.js";
import { RequestCode } from "./request.js";
import { PublishDone, SubscribeType } from "./subscribe.js";

export class IetfPushes {
  /** Broadcasts announced only for pushed tracks, by namespace. */
  private readonly implicit = new Map<string, Broadcast>();

  constructor(private readonly ingest: IetfIngest) {}

  get implicitCount(): number {
    return this.implicit.size;
  }

  publish(stream: BidiStream, msg: Publish, framer: ControlFramer): void {
    const ingest = this.ingest;
    const s = ingest.s;
    const rel = msg.namespace;
    const abs = join(s.grant.root, rel);
    let b = ingest.announced(rel) ?? this.implicit.get(rel);
    let refusal = ingest.refusal(rel);
    if (refusal === undefined && b === undefined && ingest.broadcastCount >= s.limits.max_broadcasts_per_session) refusal = "too-many-broadcasts";
    const source = b?.source;
    if (refusal === undefined && source instanceof IetfSource && source.pushed.has(msg.track)) refusal = "duplicate";
    if (refusal !== undefined) {
      s.log.warn({ path: abs, track: msg.track, reason: refusal }, "PUBLISH refused");
      const code = refusal === "not-permitted" ? RequestCode.Unauthorized : refusal === "duplicate" ? RequestCode.Duplicate : RequestCode.InternalError;
      return s.reject(stream, msg.requestId, code, refusal);
    }
    const pushed = new PushedTrack(msg.alias, infoOf({ ...msg.properties, groupOrder: msg.groupOrder }));
    // A second track under one alias would mix two tracks' objects: the draft's DUPLICATE_TRACK_ALIAS.
    if (!ingest.bindAlias(msg.alias, pushed)) throw new MoqError(Code.Duplicate, `track alias ${msg.alias} is already in use`);
    if (b === undefined) {
      b = s.origin.announce(abs, new IetfSource(ingest, rel), []);
      this.implicit.set(rel, b);
      s.log.info({ path: abs }, "broadcast announced (PUBLISH)");
    }
    const src = b.source as IetfSource;
    src.pushed.set(msg.track, pushed);
    s.requests++;
    s.log.info({ path: abs, track: msg.track, alias: msg.alias }, "track pushed");
    stream.send.write(control(s.draft, PublishOk.type(s.draft), (w) => new PublishOk(msg.requestId).encode(w)));
    let ended = false;
    const end = (code?: number): void => {
      if (ended) return;
      ended = true;
      s.requests--;
      ingest.unbindAlias(msg.alias, pushed);
      if (src.pushed.get(msg.track) === pushed) src.pushed.delete(msg.track);
      pushed.end(code);
      const implicit = this.implicit.get(rel);
      if (implicit !== undefined && src.pushed.size === 0) {
        this.implicit.delete(rel);
        implicit.close();
        s.log.info({ path: abs }, "broadcast ended");
      }
    };
    guardRecv(
      stream.recv,
      {
        data: (chunk) => {
          framer.push(chunk);
          for (let m = framer.next(); m !== undefined; m = framer.next()) {
            // PUBLISH_DONE ends the track; groups still in flight finish on their own streams.
            if (m.type !== SubscribeType.PublishDone) throw new MoqError(Code.ProtocolViolation, `unexpected message 0x${m.type.toString(16)} on a PUBLISH stream`);
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
    for (const b of this.implicit.values()) {
      if (b.source instanceof IetfSource) for (const p of b.source.pushed.values()) p.dispose();
      b.close();
    }
    this.implicit.clear();
  }
}
