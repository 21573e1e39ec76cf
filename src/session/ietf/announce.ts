// Namespace advertisement and discovery (moq-wire §3.4): PUBLISH_NAMESPACE (and its DONE on
// 14–16), SUBSCRIBE_NAMESPACE (0x11 through 17, 0x50 from 18), and the NAMESPACE /
// NAMESPACE_DONE entries that answer it on its own stream from draft-16.
import { readBody } from "./message.js";
import { decodeNamespace, encodeNamespace } from "./namespace.js";
import { ParamKey, Params } from "./params.js";
import { Draft, hasRequiredRequestIdDelta, hasSubscribeOptions, subscribeNamespaceType } from "./version.js";
import type { IetfReader, IetfWriter } from "./wire.js";

export const AnnounceType = {
  PublishNamespace: 0x06,
  /** Draft-14 PUBLISH_NAMESPACE_OK (15+: REQUEST_OK, same type). */
  PublishNamespaceOk: 0x07,
  /** NAMESPACE on 16+ (draft-14: PUBLISH_NAMESPACE_ERROR). */
  Namespace: 0x08,
  PublishNamespaceDone: 0x09,
  PublishNamespaceCancel: 0x0c,
  NamespaceDone: 0x0e,
  SubscribeNamespaceLegacy: 0x11,
  SubscribeNamespaceOk: 0x12,
  UnsubscribeNamespace: 0x14,
  SubscribeNamespace: 0x50,
} as const;

/** PUBLISH_NAMESPACE: `Req · [Required Request ID Delta (17)] · Namespace · Params`. */
export class PublishNamespace {
  constructor(
    readonly requestId: number,
    readonly namespace: string,
    readonly token?: Uint8Array,
  ) {}

  encode(w: IetfWriter): void {
    w.varint(this.requestId);
    if (hasRequiredRequestIdDelta(w.draft)) w.varint(0);
    encodeNamespace(w, this.namespace);
    const p = new Params();
    if (this.token !== undefined) p.setBytes(ParamKey.AuthorizationToken, this.token);
    p.encodeMessage(w);
  }

  static decode(r: IetfReader): PublishNamespace {
    return readBody(r, (b) => {
      const id = b.varint();
      if (hasRequiredRequestIdDelta(b.draft)) b.varint();
      const ns = decodeNamespace(b);
      const p = Params.decodeMessage(b);
      return new PublishNamespace(id, ns, p.bytes.get(ParamKey.AuthorizationToken));
    });
  }
}

/** PUBLISH_NAMESPACE_DONE (14–16): the namespace (14/15) or the request id (16). */
export class PublishNamespaceDone {
  constructor(
    readonly requestId: number,
    readonly namespace: string,
  ) {}

  encode(w: IetfWriter): void {
    if (w.draft === Draft.D16) w.varint(this.requestId);
    else encodeNamespace(w, this.namespace);
  }

  static decode(r: IetfReader): PublishNamespaceDone {
    return readBody(r, (b) => (b.draft === Draft.D16 ? new PublishNamespaceDone(b.varint(), "") : new PublishNamespaceDone(0, decodeNamespace(b))));
  }
}

/**
 * SUBSCRIBE_NAMESPACE: `Req · [Required Request ID Delta (17)] · Prefix · [Options (16, 17)] ·
 * Params` as type 0x11 through draft-17, `Req · Prefix · Params` as 0x50 from 18.
 */
export class SubscribeNamespace {
  constructor(
    readonly requestId: number,
    readonly prefix: string,
    /** 16/17: 1 = NAMESPACE entries only (the default @moq/net sends). */
    readonly options = 1,
    readonly token?: Uint8Array,
  ) {}

  static type(v: Draft): number {
    return subscribeNamespaceType(v);
  }

  encode(w: IetfWriter): void {
    const v = w.draft;
    w.varint(this.requestId);
    if (hasRequiredRequestIdDelta(v)) w.varint(0);
    encodeNamespace(w, this.prefix);
    if (hasSubscribeOptions(v)) w.varint(this.options);
    const p = new Params();
    if (this.token !== undefined) p.setBytes(ParamKey.AuthorizationToken, this.token);
    p.encodeMessage(w);
  }

  static decode(r: IetfReader): SubscribeNamespace {
    const v = r.draft;
    return readBody(r, (b) => {
      const id = b.varint();
      if (hasRequiredRequestIdDelta(v)) b.varint();
      const prefix = decodeNamespace(b);
      const options = hasSubscribeOptions(v) ? b.varint() : 1;
      const p = Params.decodeMessage(b);
      return new SubscribeNamespace(id, prefix, options, p.bytes.get(ParamKey.AuthorizationToken));
    });
  }
}

/** NAMESPACE (16+): a suffix under the subscribed prefix became active. */
export class NamespaceEntry {
  constructor(readonly suffix: string) {}

  encode(w: IetfWriter): void {
    encodeNamespace(w, this.suffix);
  }

  static decode(r: IetfReader): NamespaceEntry {
    // Parameters may follow (the cluster extension, never negotiated here): skip them.
    return readBody(r, (b) => {
      const suffix = decodeNamespace(b);
      if (b.remaining > 0) Params.decodeMessage(b);
      return new NamespaceEntry(suffix);
    });
  }
}

/** NAMESPACE_DONE (16+): the suffix went away. */
export class NamespaceDone {
  constructor(readonly suffix: string) {}

  encode(w: IetfWriter): void {
    encodeNamespace(w, this.suffix);
  }

  static decode(r: IetfReader): NamespaceDone {
    return readBody(r, (b) => new NamespaceDone(decodeNamespace(b)));
  }
}

/** Draft-14 SUBSCRIBE_NAMESPACE_OK / PUBLISH_NAMESPACE_OK / UNSUBSCRIBE_NAMESPACE: a Request ID. */
export class RequestIdOnly {
  constructor(readonly requestId: number) {}

  encode(w: IetfWriter): void {
    w.varint(this.requestId);
  }

  static decode(r: IetfReader): RequestIdOnly {
    return readBody(r, (b) => new RequestIdOnly(b.varint()));
  }
}
