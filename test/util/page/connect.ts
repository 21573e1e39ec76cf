// How the page connects: the browser's transports, restricted to what the test asks for.
import type { PageConnectOptions } from "./api.js";
import { connectMoq, type Conn, type ConnectProps } from "./core.js";

/** Connect as a browser app would, restricted to the transport the test asks for. */
export async function connectPage(url: URL, opts: PageConnectOptions): Promise<Conn> {
  const { transport, certificateHash, protocol, timeoutMs } = opts;
  if (transport === "websocket" && protocol !== undefined) {
    // A prebuilt QMux transport skips the client's race, so WebTransport never comes into it.
    return connectMoq(url, { protocol, timeoutMs });
  }
  const webtransport: NonNullable<ConnectProps["webtransport"]> = {};
  // Only set what the test chose: the client spreads these over its defaults.
  if (certificateHash !== undefined) webtransport.serverCertificateHashes = [{ value: certificateHash }];
  if (protocol !== undefined) webtransport.protocols = [protocol];
  if (transport === "webtransport") return connectMoq(url, { timeoutMs, props: { webtransport, websocket: { enabled: false } } });
  if (transport === "auto") return connectMoq(url, { timeoutMs, props: { webtransport } });

  // WebSocket only, the way the client would run in a browser without WebTransport. The client
  // checks for WebTransport as connect starts, so it is restored once the connect settles.
  const hidden = Object.getOwnPropertyDescriptor(globalThis, "WebTransport");
  Reflect.deleteProperty(globalThis, "WebTransport");
  try {
    return await connectMoq(url, { timeoutMs, props: { websocket: { delay: 0 } } });
  } finally {
    if (hidden !== undefined) Object.defineProperty(globalThis, "WebTransport", hidden);
  }
}
