// One child process's IPC channel (advanced serialization) carrying two things: the control
// messages of messages.ts and the relay link's PortSession wire (link.ts). Node's IPC queues what
// the pipe cannot take yet; the link's per-stream credit bounds how much of that is data.
import type { ChildProcess } from "node:child_process";
import type { PortLike, Wire } from "../transport/port/session.js";

type Envelope<C = unknown> = { c: C } | { l: Wire };

/** Either end: the ChildProcess in the parent (ofChild), `process` in the child (ofProcess). */
interface End {
  send(m: Envelope): void;
  onMessage(fn: (m: Envelope) => void): void;
  onDisconnect(fn: () => void): void;
}

/** A send on a channel that just closed reports an error here instead of an 'error' event. */
const ignore = (): void => undefined;

export function ofChild(child: ChildProcess): End {
  return {
    send: (m) => void (child.connected && child.send(m, undefined, {}, ignore)),
    onMessage: (fn) => void child.on("message", fn as (m: unknown) => void),
    onDisconnect: (fn) => void child.on("disconnect", fn),
  };
}

export function ofProcess(): End {
  return {
    send: (m) => void (process.connected && process.send?.(m, undefined, {}, ignore)),
    onMessage: (fn) => void process.on("message", fn as (m: unknown) => void),
    onDisconnect: (fn) => void process.on("disconnect", fn),
  };
}

export class IpcChannel<In, Out> {
  /** The link's side of the channel, for a PortSession. */
  readonly link: PortLike;
  private linkFn: ((m: Wire) => void) | undefined;
  private readonly linkClose: Array<() => void> = [];
  private controlFn: ((m: In) => void) | undefined;
  private linkClosed = false;

  constructor(private readonly end: End) {
    end.onMessage((e) => {
      if ("l" in e) {
        if (!this.linkClosed) this.linkFn?.(e.l);
      } else {
        this.controlFn?.(e.c as In);
      }
    });
    end.onDisconnect(() => {
      this.linkClosed = true;
      for (const fn of this.linkClose.splice(0)) fn();
    });
    this.link = {
      postMessage: (m) => {
        if (!this.linkClosed) this.end.send({ l: m });
      },
      onMessage: (fn) => void (this.linkFn = fn),
      onClose: (fn) => void this.linkClose.push(fn),
      close: () => void (this.linkClosed = true),
    };
  }

  send(m: Out): void {
    // The other end may be gone: its 'disconnect'/'exit' handling takes over then.
    this.end.send({ c: m });
  }

  onControl(fn: (m: In) => void): void {
    this.controlFn = fn;
  }
}
