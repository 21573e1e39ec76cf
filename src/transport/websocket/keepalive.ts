// WebSocket keep-alive: ping every peer each interval and cut one that has been silent (no pong,
// no message) for `misses` intervals. TCP alone can take many minutes to notice a vanished peer,
// and a peer that stopped reading would otherwise pin its buffers forever. One timer serves every
// connection.
import type { WebSocket } from "ws";

interface Peer {
  missed: number;
  onSilent: () => void;
}

export class KeepAlive {
  private readonly peers = new Map<WebSocket, Peer>();
  private timer: NodeJS.Timeout | undefined;

  /** `interval` ≤ 0 disables keep-alive. */
  constructor(
    private readonly interval: number,
    private readonly misses = 6,
  ) {}

  /** Watch `ws`; `onSilent` runs once if it falls silent (the caller then drops it). */
  watch(ws: WebSocket, onSilent: () => void): void {
    if (this.interval <= 0) return;
    const peer: Peer = { missed: 0, onSilent };
    const heard = (): void => {
      peer.missed = 0;
    };
    ws.on("pong", heard);
    ws.on("message", heard);
    ws.once("close", () => this.peers.delete(ws));
    this.peers.set(ws, peer);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.interval);
      this.timer.unref();
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.peers.clear();
  }

  private tick(): void {
    for (const [ws, peer] of this.peers) {
      peer.missed++;
      if (peer.missed >= this.misses) {
        this.peers.delete(ws);
        peer.onSilent();
      } else if (ws.readyState === ws.OPEN) {
        ws.ping();
      }
    }
    if (this.peers.size === 0) this.close();
  }
}
