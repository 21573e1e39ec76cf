// The real clients (@moq/net, @moq/qmux) need the same Node 20 shims the relay installs, plus a
// global WebSocket (Node 20 has none). Tests that drive them import this first.
import "../../src/util/node20.js";
import { WebSocket } from "ws";

const G = globalThis as unknown as { WebSocket?: unknown };
/** Node's own WebSocket (undici, Node >= 22), undefined on Node 20. */
export const nativeWebSocket: unknown = G.WebSocket;
// Always `ws`, also where Node has its own: @moq/web-socket-stream paces writes by polling
// bufferedAmount every 10 ms, and undici's WebSocket reports bytes as buffered until they are on
// the wire, so on Node 24 one client session sends only a few MB/s. Tests that measure the
// relay's pace would measure that instead. test/e2e/native-websocket.test.ts covers undici.
G.WebSocket = WebSocket;

// @moq/net narrates every connection through console.debug, warns on each WebSocket connect
// (the only transport Node has) and prints a stack for every normal close (code 0), burying
// what a failing test printed. Nothing else in the test processes logs through console.debug.
// MOQ_TEST_LOG=1 keeps it all.
if (!process.env.MOQ_TEST_LOG) {
  console.debug = () => undefined;
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (args.length === 2 && args[1] === "connected via WebSocket") return;
    warn(...args);
  };
  const error = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    const [what, err] = args;
    if (what === "fatal error running connection" && err instanceof Error && /^Connection closed: 0\b/.test(err.message)) return;
    error(...args);
  };
}
