// SETUP: lite-05's uni Setup stream, and the legacy in-band CLIENT_SETUP/SERVER_SETUP (draft-14
// layout with u16 lengths) that selects lite-02/01 when no protocol was negotiated.
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { decodeMessage, encodeMessage } from "./message.js";

export const Param = { Probe: 0x1, Path: 0x2, Role: 0x3, Cost: 0x4, Origin: 0x5 } as const;
export const Role = { Both: 0, Publisher: 1, Subscriber: 2 } as const;

const MAX_PARAMS = 64;

export class Setup {
  constructor(
    /** Sender's hop id; 0n = none. */
    readonly origin: bigint = 0n,
    /** Request path + query (raw QUIC only). */
    readonly path: string | undefined = undefined,
    readonly role: number = Role.Both,
  ) {}

  encode(w: Writer): void {
    encodeMessage(w, (b) => {
      const params: Array<[number, Uint8Array]> = [];
      if (this.origin !== 0n) params.push([Param.Origin, new Writer(8).varBig(this.origin).finish()]);
      if (this.path !== undefined) params.push([Param.Path, new TextEncoder().encode(this.path)]);
      if (this.role !== Role.Both) params.push([Param.Role, new Writer(1).varint(this.role).finish()]);
      b.varint(params.length);
      for (const [id, v] of params) b.varint(id).varint(v.length).bytes(v);
    });
  }

  static decode(r: Reader, max: number): Setup {
    return decodeMessage(r, max, (b) => {
      const count = b.varint();
      if (count > MAX_PARAMS) throw new DecodeError(`${count} setup parameters exceed ${MAX_PARAMS}`);
      const seen = new Set<number>();
      let origin = 0n;
      let path: string | undefined;
      let role: number = Role.Both;
      for (let i = 0; i < count; i++) {
        const id = b.varint();
        if (seen.has(id)) throw new DecodeError(`duplicate setup parameter ${id}`);
        seen.add(id);
        const value = new Reader(b.bytes(b.varint()));
        if (id === Param.Origin) origin = value.varBig();
        else if (id === Param.Path) path = new TextDecoder("utf-8", { fatal: true }).decode(value.rest());
        else if (id === Param.Role) {
          const v = value.varint();
          role = v === Role.Publisher || v === Role.Subscriber ? v : Role.Both;
        }
        // Unknown parameters are ignored by design.
      }
      return new Setup(origin, path, role);
    });
  }
}

export class ClientSetup {
  constructor(readonly versions: number[]) {}

  /** After the 0x20 stream type: u16 length, version list, parameters. */
  static decode(r: Reader): ClientSetup {
    const len = r.u16();
    const body = new Reader(r.bytes(len));
    const n = body.varint();
    if (n > 64) throw new DecodeError("too many versions");
    const versions: number[] = [];
    for (let i = 0; i < n; i++) versions.push(body.varint());
    const params = body.varint();
    for (let i = 0; i < params; i++) {
      const key = body.varint();
      if (key % 2 === 0) body.varint();
      else body.bytes(body.varint());
    }
    if (body.remaining !== 0) throw new DecodeError("trailing bytes in CLIENT_SETUP");
    return new ClientSetup(versions);
  }

  encode(w: Writer): void {
    const b = new Writer(32).varint(this.versions.length);
    for (const v of this.versions) b.varint(v);
    b.varint(0);
    w.varint(0x20).u16(b.pos).bytes(b.view());
  }
}

export class ServerSetup {
  constructor(readonly version: number) {}

  encode(w: Writer): void {
    const b = new Writer(16).varint(this.version).varint(0);
    w.varint(0x21).u16(b.pos).bytes(b.view());
  }

  /** After the 0x21 type. */
  static decode(r: Reader): ServerSetup {
    const body = new Reader(r.bytes(r.u16()));
    const version = body.varint();
    const params = body.varint();
    for (let i = 0; i < params; i++) {
      const key = body.varint();
      if (key % 2 === 0) body.varint();
      else body.bytes(body.varint());
    }
    return new ServerSetup(version);
  }
}
