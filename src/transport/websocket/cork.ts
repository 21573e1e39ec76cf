// One system call per burst instead of one per message. QMux sends every frame as its own
// WebSocket message, and ws writes each message with its own writev: at 200 viewers that was a
// quarter of the relay's CPU. Corking the socket at the first message of a burst and uncorking
// on the next tick (after the microtasks that carry qmux's writer loop have run) hands the
// kernel the whole burst in one writev (and one TLS record run for wss).
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";

export function corkBursts(ws: WebSocket, socket: Duplex): void {
  const send = ws.send.bind(ws) as (...args: unknown[]) => void;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  ws.send = ((...args: unknown[]): void => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    send(...args);
  }) as WebSocket["send"];
}
