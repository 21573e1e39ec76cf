// Byte counts for one session, for its "session closed" log line: a thin wrapper over the
// transport session that counts stream and datagram payload bytes each way (MoQ control and
// data alike) and forwards everything else untouched. One add per chunk; no allocation per chunk.
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session } from "../transport/session.js";

export interface ByteCount {
  in: number;
  out: number;
}

class MeteredSend implements SendStream {
  constructor(
    private readonly inner: SendStream,
    private readonly count: ByteCount,
  ) {}
  get id(): number {
    return this.inner.id;
  }
  write(chunk: Uint8Array): boolean {
    this.count.out += chunk.byteLength;
    return this.inner.write(chunk);
  }
  end(): void {
    this.inner.end();
  }
  reset(code: number): void {
    this.inner.reset(code);
  }
  get writableLength(): number {
    return this.inner.writableLength;
  }
  get priority(): number {
    return this.inner.priority;
  }
  set priority(p: number) {
    this.inner.priority = p;
  }
  get onDrain(): (() => void) | null {
    return this.inner.onDrain;
  }
  set onDrain(h: (() => void) | null) {
    this.inner.onDrain = h;
  }
  get onStop(): ((code: number) => void) | null {
    return this.inner.onStop;
  }
  set onStop(h: ((code: number) => void) | null) {
    this.inner.onStop = h;
  }
}

class MeteredRecv implements RecvStream {
  private handler: ((chunk: Uint8Array) => void) | null = null;
  constructor(
    private readonly inner: RecvStream,
    private readonly count: ByteCount,
  ) {}
  get id(): number {
    return this.inner.id;
  }
  get onData(): ((chunk: Uint8Array) => void) | null {
    return this.handler;
  }
  set onData(h: ((chunk: Uint8Array) => void) | null) {
    this.handler = h;
    const count = this.count;
    this.inner.onData =
      h === null
        ? null
        : (chunk) => {
            count.in += chunk.byteLength;
            h(chunk);
          };
  }
  get onEnd(): (() => void) | null {
    return this.inner.onEnd;
  }
  set onEnd(h: (() => void) | null) {
    this.inner.onEnd = h;
  }
  get onReset(): ((code: number) => void) | null {
    return this.inner.onReset;
  }
  set onReset(h: ((code: number) => void) | null) {
    this.inner.onReset = h;
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  stop(code: number): void {
    this.inner.stop(code);
  }
}

function bidi(b: BidiStream, count: ByteCount): BidiStream {
  return { id: b.id, send: new MeteredSend(b.send, count), recv: new MeteredRecv(b.recv, count) };
}

export class MeteredSession implements Session {
  readonly bytes: ByteCount = { in: 0, out: 0 };
  private bidiHandler: ((stream: BidiStream) => void) | null = null;
  private uniHandler: ((stream: RecvStream) => void) | null = null;
  private datagramHandler: ((data: Uint8Array) => void) | null = null;

  constructor(private readonly inner: Session) {}

  get transport(): Session["transport"] {
    return this.inner.transport;
  }
  get protocol(): string {
    return this.inner.protocol;
  }
  get url(): URL {
    return this.inner.url;
  }
  set url(u: URL) {
    this.inner.url = u;
  }
  get remote(): string {
    return this.inner.remote;
  }
  rtt(): number | undefined {
    return this.inner.rtt?.();
  }

  get maxDatagramSize(): number {
    return this.inner.maxDatagramSize;
  }
  get closed(): Promise<CloseInfo> {
    return this.inner.closed;
  }

  get onBidi(): ((stream: BidiStream) => void) | null {
    return this.bidiHandler;
  }
  set onBidi(h: ((stream: BidiStream) => void) | null) {
    this.bidiHandler = h;
    this.inner.onBidi = h === null ? null : (s) => h(bidi(s, this.bytes));
  }
  get onUni(): ((stream: RecvStream) => void) | null {
    return this.uniHandler;
  }
  set onUni(h: ((stream: RecvStream) => void) | null) {
    this.uniHandler = h;
    this.inner.onUni = h === null ? null : (s) => h(new MeteredRecv(s, this.bytes));
  }
  get onDatagram(): ((data: Uint8Array) => void) | null {
    return this.datagramHandler;
  }
  set onDatagram(h: ((data: Uint8Array) => void) | null) {
    this.datagramHandler = h;
    this.inner.onDatagram =
      h === null
        ? null
        : (d) => {
            this.bytes.in += d.byteLength;
            h(d);
          };
  }

  async openBidi(): Promise<BidiStream> {
    return bidi(await this.inner.openBidi(), this.bytes);
  }
  async openUni(): Promise<SendStream> {
    return new MeteredSend(await this.inner.openUni(), this.bytes);
  }
  sendDatagram(data: Uint8Array): boolean {
    const sent = this.inner.sendDatagram(data);
    if (sent) this.bytes.out += data.byteLength;
    return sent;
  }
  close(code: number, reason: string): void {
    this.inner.close(code, reason);
  }
}
