// corkBursts: a burst of WebSocket messages leaves as one write at the next tick, intact and in
// order, and a message sent after that tick is not held back.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { corkBursts } from "../../src/transport/websocket/cork.js";
import { within } from "../util/moq.js";

const http: Server = createServer();
const wss = new WebSocketServer({ noServer: true });
const accepted = new Promise<{ ws: WebSocket; socket: Duplex }>((resolve) => {
  http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    corkBursts(ws, socket);
    resolve({ ws, socket });
  }));
});
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`);
const received: Buffer[] = [];
let wake: (() => void) | undefined;
client.on("message", (d: Buffer) => {
  received.push(d);
  wake?.();
});
await within(new Promise((resolve) => client.once("open", resolve)), 5000, "the client to connect");
const { ws, socket } = await within(accepted, 5000, "the upgrade");
after(() => {
  client.terminate();
  wss.close();
  http.close();
});

async function until(n: number): Promise<void> {
  await within(
    new Promise<void>((resolve) => {
      wake = () => received.length >= n && resolve();
      wake();
    }),
    10_000,
    `${n} messages`,
  );
}

test("a burst is held corked until the next tick, then every message arrives in order", async () => {
  for (let i = 0; i < 2000; i++) {
    ws.send(Buffer.from(`m${i}`));
    assert.ok(socket.writableCorked > 0, "the socket is corked during the burst");
  }
  await new Promise<void>((resolve) => process.nextTick(resolve));
  assert.equal(socket.writableCorked, 0, "uncorked on the next tick");
  await until(2000);
  assert.deepEqual(received.map((b) => b.toString()), Array.from({ length: 2000 }, (_, i) => `m${i}`));
});

test("a lone message goes out without waiting for anything but the tick", async () => {
  const before = received.length;
  ws.send(Buffer.from("alone"));
  await until(before + 1);
  assert.equal(received.at(-1)?.toString(), "alone");
  assert.equal(socket.writableCorked, 0);
});
