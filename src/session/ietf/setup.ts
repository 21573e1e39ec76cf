// Session setup (moq-wire §3.2). Drafts 17+: SETUP (0x2F00) opens a uni stream from each side and
// holds only options. Drafts 14–16: CLIENT_SETUP (0x20) / SERVER_SETUP (0x21) on the client's
// bidi control stream; only draft-14 lists versions (the ALPN pinned 15 and 16).
import { DecodeError } from "../../util/bytes.js";
import { readBody } from "./message.js";
import { Params } from "./params.js";
import { hasSetupVersions, type Draft } from "./version.js";
import type { IetfReader, IetfWriter } from "./wire.js";

export const SetupType = { Setup: 0x2f00, Client: 0x20, Server: 0x21 } as const;

const MAX_VERSIONS = 128;

/** Draft-17+ SETUP body. */
export class Setup {
  constructor(readonly params: Params = new Params()) {}

  encode(w: IetfWriter): void {
    this.params.encodeSetup(w);
  }

  static decode(r: IetfReader): Setup {
    return readBody(r, (b) => new Setup(Params.decodeSetup(b)));
  }
}

/** Drafts 14–16 CLIENT_SETUP body. */
export class ClientSetup {
  constructor(
    /** Offered versions (draft-14); on 15/16 the pinned draft alone. */
    readonly versions: readonly number[],
    readonly params: Params = new Params(),
  ) {}

  encode(w: IetfWriter): void {
    if (hasSetupVersions(w.draft)) {
      w.varint(this.versions.length);
      for (const v of this.versions) w.varint(v);
    }
    this.params.encodeSetup(w);
  }

  static decode(r: IetfReader): ClientSetup {
    const v: Draft = r.draft;
    return readBody(r, (b) => {
      const versions: number[] = [];
      if (hasSetupVersions(v)) {
        const n = b.varint();
        if (n > MAX_VERSIONS) throw new DecodeError(`${n} versions exceed ${MAX_VERSIONS}`);
        for (let i = 0; i < n; i++) versions.push(b.varint());
      } else versions.push(v);
      return new ClientSetup(versions, Params.decodeSetup(b));
    });
  }
}

/** Drafts 14–16 SERVER_SETUP body. */
export class ServerSetup {
  constructor(
    readonly version: number,
    readonly params: Params = new Params(),
  ) {}

  encode(w: IetfWriter): void {
    if (hasSetupVersions(w.draft)) w.varint(this.version);
    this.params.encodeSetup(w);
  }

  static decode(r: IetfReader): ServerSetup {
    const v: Draft = r.draft;
    return readBody(r, (b) => {
      const version = hasSetupVersions(v) ? b.varint() : v;
      return new ServerSetup(version, Params.decodeSetup(b));
    });
  }
}
