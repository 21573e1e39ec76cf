// SETUP, two generations:
// - lite-05: one SETUP message on each side's uni Setup stream (type 0x1), a bag of parameters.
// - legacy: CLIENT_SETUP (0x20) / SERVER_SETUP (0x21) on the first bidi stream, always in the
//   moq-transport draft-14 layout with u16 big-endian lengths; it selects lite-02 or lite-01 when
//   no protocol was negotiated. The stream then stays open as the lite-01/02 session stream,
//   carrying SESSION_INFO messages.
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { readMessage, requireVersion, writeMessage } from "./message.js";
import { hasSessionStream, hasSetupStream, type Version } from "./version.js";

/** Lite-05 SETUP parameter ids. */
export const Param = { Probe: 0x1, Path: 0x2, Role: 0x3, Cost: 0x4, Origin: 0x5 } as const;

/** Probe capability (monotonic); unknown higher values decode as Increase. */
export const ProbeLevel = { None: 0, Report: 1, Increase: 2 } as const;

/** What a client intends to do; unknown values decode as Both. */
export const Role = { Both: 0, Publisher: 1, Subscriber: 2 } as const;

export const MAX_SETUP_PARAMS = 64;
const MAX_LEGACY_VERSIONS = 128;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

export interface SetupInit {
  origin?: bigint;
  path?: string;
  role?: number;
  probe?: number;
  cost?: bigint;
}

/** Lite-05 SETUP. Absent parameters take their defaults; the defaults are not sent. */
export class Setup {
  /** Sender's origin (hop id, up to 62 bits); 0n = no identity. */
  readonly origin: bigint;
  /** Client only, raw QUIC / TCP only: request path plus `?query`. Forbidden on WebTransport and WebSocket. */
  readonly path: string | undefined;
  readonly role: number;
  readonly probe: number;
  /** Lite-06 route cost; decoded on 05 but unused. 0n = absent. */
  readonly cost: bigint;

  constructor(init: SetupInit = {}) {
    this.origin = init.origin ?? 0n;
    this.path = init.path;
    this.role = init.role ?? Role.Both;
    this.probe = init.probe ?? ProbeLevel.None;
    this.cost = init.cost ?? 0n;
  }

  encode(w: Writer, v: Version): void {
    requireVersion(hasSetupStream(v), "SETUP stream", v);
    writeMessage(w, (b) => {
      const count = (this.probe !== ProbeLevel.None ? 1 : 0) + (this.path !== undefined ? 1 : 0) + (this.role !== Role.Both ? 1 : 0) + (this.cost !== 0n ? 1 : 0) + (this.origin !== 0n ? 1 : 0);
      b.varint(count);
      if (this.probe !== ProbeLevel.None) varintParam(b, Param.Probe, BigInt(this.probe));
      if (this.path !== undefined) {
        const bytes = utf8Encoder.encode(this.path);
        b.varint(Param.Path).varint(bytes.length).bytes(bytes);
      }
      if (this.role !== Role.Both) varintParam(b, Param.Role, BigInt(this.role));
      if (this.cost !== 0n) varintParam(b, Param.Cost, this.cost);
      if (this.origin !== 0n) varintParam(b, Param.Origin, this.origin);
    });
  }

  static decode(r: Reader, v: Version): Setup {
    requireVersion(hasSetupStream(v), "SETUP stream", v);
    return readMessage(r, (b) => {
      const count = b.varint();
      if (count > MAX_SETUP_PARAMS) throw new DecodeError(`${count} setup parameters exceed ${MAX_SETUP_PARAMS}`);
      const seen = new Set<bigint>();
      const init: SetupInit = {};
      for (let i = 0; i < count; i++) {
        const id = b.varBig();
        if (seen.has(id)) throw new DecodeError(`duplicate setup parameter ${id}`);
        seen.add(id);
        const value = b.bytes(b.varint());
        switch (id > 0xffn ? -1 : Number(id)) {
          case Param.Origin:
            init.origin = varintValue(value);
            break;
          case Param.Path:
            init.path = decodeUtf8(value);
            break;
          case Param.Role: {
            const code = varintValue(value);
            init.role = code === 1n ? Role.Publisher : code === 2n ? Role.Subscriber : Role.Both;
            break;
          }
          case Param.Probe: {
            const code = varintValue(value);
            init.probe = code === 0n ? ProbeLevel.None : code === 1n ? ProbeLevel.Report : ProbeLevel.Increase;
            break;
          }
          case Param.Cost:
            init.cost = varintValue(value);
            break;
          default:
          // Unknown parameters are ignored: that is how SETUP stays extensible.
        }
      }
      return new Setup(init);
    });
  }
}

function varintParam(w: Writer, id: number, value: bigint): void {
  const body = new Writer(8).varBig(value);
  w.varint(id).varint(body.pos).bytes(body.view());
}

/** A parameter value that must be exactly one varint. */
function varintValue(bytes: Uint8Array): bigint {
  const r = new Reader(bytes);
  let v: bigint;
  try {
    v = r.varBig();
  } catch {
    throw new DecodeError("setup parameter shorter than its varint");
  }
  if (r.remaining !== 0) throw new DecodeError("trailing bytes after a varint setup parameter");
  return v;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new DecodeError("invalid UTF-8");
  }
}

/** A legacy (draft-14 style) setup parameter: even keys carry a varint, odd keys bytes. */
export interface LegacyParam {
  key: bigint;
  value: bigint | Uint8Array;
}

/** Well-known legacy parameter keys (moq-transport draft-14 SETUP parameters). */
export const LegacyParamKey = { Path: 1n, MaxRequestId: 2n, AuthorizationToken: 3n, MaxAuthTokenCacheSize: 4n, Authority: 5n, Implementation: 7n, Solicit: 0x40b5an } as const;

function encodeLegacyParams(w: Writer, params: readonly LegacyParam[]): void {
  w.varint(params.length);
  for (const p of params) {
    w.varBig(p.key);
    const odd = (p.key & 1n) === 1n;
    if (odd !== p.value instanceof Uint8Array) throw new RangeError(`legacy setup parameter ${p.key}: odd keys take bytes, even keys a varint`);
    if (p.value instanceof Uint8Array) w.varint(p.value.length).bytes(p.value);
    else w.varBig(p.value);
  }
}

function decodeLegacyParams(r: Reader): LegacyParam[] {
  const count = r.varint();
  if (count > MAX_SETUP_PARAMS) throw new DecodeError(`${count} setup parameters exceed ${MAX_SETUP_PARAMS}`);
  const out: LegacyParam[] = [];
  for (let i = 0; i < count; i++) {
    const key = r.varBig();
    if (out.some((p) => p.key === key)) throw new DecodeError(`duplicate setup parameter ${key}`);
    // Bytes values are copied: they outlive the chunk they arrived in.
    out.push({ key, value: (key & 1n) === 1n ? r.bytes(r.varint()).slice() : r.varBig() });
  }
  return out;
}

/** Run `body` on a u16-length-prefixed section (draft-14 control message framing). */
function readU16Message<T>(r: Reader, body: (r: Reader) => T): T {
  const len = r.u16();
  const sub = new Reader(r.bytes(len));
  let out: T;
  try {
    out = body(sub);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`malformed legacy SETUP: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (sub.remaining !== 0) throw new DecodeError(`${sub.remaining} trailing bytes in legacy SETUP`);
  return out;
}

function writeU16Message(w: Writer, body: (w: Writer) => void): void {
  const b = new Writer(64);
  body(b);
  if (b.pos > 0xffff) throw new RangeError("legacy SETUP longer than 65535 bytes");
  w.u16(b.pos).bytes(b.view());
}

/** CLIENT_SETUP, after the 0x20 stream type: `Length (u16) · Versions · Params`. */
export class ClientSetup {
  constructor(
    readonly versions: number[],
    readonly params: LegacyParam[] = [],
  ) {}

  encode(w: Writer): void {
    writeU16Message(w, (b) => {
      b.varint(this.versions.length);
      for (const v of this.versions) b.varint(v);
      encodeLegacyParams(b, this.params);
    });
  }

  static decode(r: Reader): ClientSetup {
    return readU16Message(r, (b) => {
      const n = b.varint();
      if (n > MAX_LEGACY_VERSIONS) throw new DecodeError(`${n} versions offered`);
      const versions: number[] = [];
      for (let i = 0; i < n; i++) versions.push(b.varint());
      return new ClientSetup(versions, decodeLegacyParams(b));
    });
  }
}

/** SERVER_SETUP, after the 0x21 stream type: `Length (u16) · Selected Version · Params`. */
export class ServerSetup {
  constructor(
    readonly version: number,
    readonly params: LegacyParam[] = [],
  ) {}

  encode(w: Writer): void {
    writeU16Message(w, (b) => {
      b.varint(this.version);
      encodeLegacyParams(b, this.params);
    });
  }

  static decode(r: Reader): ServerSetup {
    return readU16Message(r, (b) => new ServerSetup(b.varint(), decodeLegacyParams(b)));
  }
}

/** Lite-01/02: SESSION_INFO on the session stream, the sender's estimated bitrate. */
export class SessionInfo {
  constructor(readonly bitrate: number) {}

  encode(w: Writer, v: Version): void {
    requireVersion(hasSessionStream(v), "SESSION_INFO", v);
    writeMessage(w, (b) => b.varint(this.bitrate));
  }

  static decode(r: Reader, v: Version): SessionInfo {
    requireVersion(hasSessionStream(v), "SESSION_INFO", v);
    return readMessage(r, (b) => new SessionInfo(b.varint()));
  }
}
