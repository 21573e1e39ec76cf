// The real clients (@moq/net, @moq/qmux) need the same Node 20 shims the relay installs, plus a
// global WebSocket (Node 20 has none). Tests that drive them import this first.
import "../../src/util/node20.js";
import { WebSocket } from "ws";

const G = globalThis as unknown as { WebSocket?: unknown };
if (G.WebSocket === undefined) G.WebSocket = WebSocket;
