// WebSocket keep-alive: ping every peer each interval and cut one that has been silent (no pong,
// no message) for `misses` intervals. TCP alone can take many minutes to notice a vanished peer,
// and a peer that stopped reading would otherwise pin its buffers forever. One timer serves every
// connection.
import type { WebSocket } from "ws";

interface Peer {
  missed: number;
  onSilent: () => void;
  /** When the unanswered ping went out (ms timestamp), and the last measured round trip. */
  pingAt: number | undefined;
  rtt: number | undefined;
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
    const peer: Peer = { missed: 0, onSilent, pingAt: undefined, rtt: undefined };
    const heard = (): void => {
      peer.missed = 0;
    };
    ws.on("pong", () => {
      heard();
      // Pongs answer pings in order; only the oldest unanswered one is timed.
      if (peer.pingAt !== undefined) peer.rtt = performance.now() - peer.pingAt;
      peer.pingAt = undefined;
    });
    ws.on("message", heard);
    ws.once("close", () => this.peers.delete(ws));
    this.peers.set(ws, peer);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.interval);
      this.timer.unref();
    }
  }

  /** Ping `ws` now (not waiting for the first interval), so its round-trip time is known early. */
  probe(ws: WebSocket): void {
    const peer = this.peers.get(ws);
    if (peer !== undefined && ws.readyState === ws.OPEN) this.ping(ws, peer);
  }

  /** The last ping/pong round trip to `ws` (ms), once one was measured. */
  rtt(ws: WebSocket): number | undefined {
    return this.peers.get(ws)?.rtt;
  }

  private ping(ws: WebSocket, peer: Peer): void {
    peer.pingAt ??= performance.now();
    ws.ping();
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
        this.ping(ws, peer);
      }
    }
    if (this.peers.size === 0) this.close();
  }
}
