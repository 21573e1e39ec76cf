// Generic request responses and request flow control (moq-wire §3.3, §3.4): REQUEST_OK (15+),
// REQUEST_ERROR (15+; SUBSCRIBE_ERROR on 14 has the same layout), MAX_REQUEST_ID and
// REQUESTS_BLOCKED (14–16, on the control stream), and GOAWAY.
import { readBody } from "./message.js";
import { Params } from "./params.js";
import { hasGoawayTimeout, hasResponseRequestId, hasRetryInterval, hasTrackProperties } from "./version.js";
import type { IetfReader, IetfWriter } from "./wire.js";

export const RequestType = {
  RequestError: 0x05,
  RequestOk: 0x07,
  Goaway: 0x10,
  MaxRequestId: 0x15,
  RequestsBlocked: 0x1a,
} as const;

/** REQUEST_ERROR codes we send (draft §"Request Error Codes"). */
export const RequestCode = {
  InternalError: 0x0,
  Unauthorized: 0x1,
  Timeout: 0x2,
  NotSupported: 0x3,
  DoesNotExist: 0x4,
  InvalidRange: 0x5,
  MalformedTrack: 0x12,
  Duplicate: 0x19,
  InvalidJoiningRequest: 0x32,
} as const;

/** REQUEST_OK: `[Req (≤16)] · Params` (readers also skip trailing track properties on 16+). */
export class RequestOk {
  constructor(
    readonly requestId: number,
    readonly params: Params = new Params(),
  ) {}

  encode(w: IetfWriter): void {
    if (hasResponseRequestId(w.draft)) w.varint(this.requestId);
    this.params.encodeMessage(w);
  }

  static decode(r: IetfReader): RequestOk {
    return readBody(r, (b) => {
      const id = hasResponseRequestId(b.draft) ? b.varint() : 0;
      const params = Params.decodeMessage(b);
      if (hasTrackProperties(b.draft)) b.rest();
      return new RequestOk(id, params);
    });
  }
}

/** REQUEST_ERROR: `[Req (≤16)] · Code (i) · [Retry Interval (i) (16+)] · Reason (s)`. */
export class RequestError {
  constructor(
    readonly requestId: number,
    readonly code: number,
    readonly reason: string,
    /** ms; 0 = do not retry. */
    readonly retryInterval = 0,
  ) {}

  encode(w: IetfWriter): void {
    if (hasResponseRequestId(w.draft)) w.varint(this.requestId);
    w.varint(this.code);
    if (hasRetryInterval(w.draft)) w.varint(this.retryInterval);
    w.string(this.reason);
  }

  static decode(r: IetfReader): RequestError {
    return readBody(r, (b) => {
      const id = hasResponseRequestId(b.draft) ? b.varint() : 0;
      const code = b.varint();
      const retry = hasRetryInterval(b.draft) ? b.varint() : 0;
      return new RequestError(id, code, b.string(1024), retry);
    });
  }
}

/** MAX_REQUEST_ID / REQUESTS_BLOCKED: one Request ID. */
export class RequestIdMessage {
  constructor(readonly requestId: number) {}

  encode(w: IetfWriter): void {
    w.varint(this.requestId);
  }

  static decode(r: IetfReader): RequestIdMessage {
    return readBody(r, (b) => new RequestIdMessage(b.varint()));
  }
}

/** GOAWAY: `New Session URI (s) · [Timeout (i) (17+)]`. */
export class Goaway {
  constructor(
    readonly uri: string,
    readonly timeout = 0,
  ) {}

  encode(w: IetfWriter): void {
    w.string(this.uri);
    if (hasGoawayTimeout(w.draft)) w.varint(this.timeout);
  }

  static decode(r: IetfReader): Goaway {
    return readBody(r, (b) => {
      const uri = b.string(8192);
      return new Goaway(uri, hasGoawayTimeout(b.draft) ? b.varint() : 0);
    });
  }
}
