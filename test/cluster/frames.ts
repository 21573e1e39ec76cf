// Test-side helpers for the cluster's data path: a publisher in its own process (killable like a
// dying encoder) and a viewer that records every frame it receives with its arrival time, on the
// one subscription it opened (it never resubscribes: an end is recorded, not papered over).
import { spawn, type ChildProcess } from "node:child_process";
import * as Moq from "@moq/net";
import type { GroupConsumer, TrackSubscriber } from "../util/page/types.js";
import type { Conn } from "../util/moq.js";
import { within } from "../util/moq.js";
import { ROOT } from "../util/spawn.js";

export interface ChildPublisher {
  child: ChildProcess;
  /** SIGKILL it and wait for the exit (bounded). */
  kill(): Promise<void>;
}

/** Start publisher.child.ts against `url`, publishing `path` with frames tagged `id`. */
export async function spawnPublisher(url: string, path: string, id: string): Promise<ChildPublisher> {
  const child = spawn(process.execPath, ["--import", "tsx", `${ROOT}test/cluster/publisher.child.ts`, url, path, id], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  await within(
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (out.includes("publishing")) resolve();
      };
      child.stdout.on("data", check);
      child.once("exit", (code) => reject(new Error(`publisher ${id} exited (${code}): ${out.slice(-2000)}`)));
    }),
    20_000,
    `publisher ${id} to connect`,
  );
  return {
    child,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await within(gone, 5000, `publisher ${id} to exit`);
    },
  };
}

export interface Frame {
  group: number;
  /** Publisher tag, frame counter and send time, from the payload `<id>:<n>:<ms>`. */
  id: string;
  n: number;
  sent: number;
  /** Arrival time (ms since epoch). */
  at: number;
}

/** One subscription whose every frame is recorded as it arrives. */
export class FrameLog {
  readonly frames: Frame[] = [];
  /** The subscription ended (the viewer would have had to resubscribe): why. */
  ended: string | undefined;
  readonly groups: number[] = [];
  private readonly sub: TrackSubscriber;

  constructor(conn: Conn, path: string, track: string) {
    this.sub = conn.consume(Moq.Path.from(path)).subscribe(track, { priority: 0 });
    void this.pump();
  }

  /** Frames from publisher `id`. */
  from(id: string): Frame[] {
    return this.frames.filter((f) => f.id === id);
  }

  /** Resolve once `check` holds (bounded). */
  async until(check: (log: FrameLog) => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check(this)) {
      if (this.ended !== undefined) throw new Error(`subscription ended (${this.ended}) while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (${this.frames.length} frames so far)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.sub.close();
  }

  private async pump(): Promise<void> {
    try {
      for (let g = await this.sub.recvGroup(); g !== undefined; g = await this.sub.recvGroup()) {
        this.groups.push(g.sequence);
        void this.drain(g);
      }
      this.ended = "ended";
    } catch (err) {
      this.ended = String(err);
    }
  }

  private async drain(g: GroupConsumer): Promise<void> {
    try {
      for (let f = await g.readFrame(); f !== undefined; f = await g.readFrame()) {
        const [id, n, sent] = new TextDecoder().decode(f.payload).split(":");
        this.frames.push({ group: g.sequence, id, n: Number(n), sent: Number(sent), at: Date.now() });
      }
    } catch {
      // A group cut short when its route went away: what arrived is recorded.
    }
  }
}
