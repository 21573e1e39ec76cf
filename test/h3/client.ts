// A minimal HTTP/3 client role for tests, on our own QUIC engine: control stream with SETTINGS,
// requests with a HEADERS frame, and the response's :status (or the reset code).
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import type { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { encodeFrame, encodeSettings, Frame, readFrame, StreamType } from "../../src/transport/h3/frame.js";
import { decodeFieldSection, encodeFieldSection } from "../../src/transport/h3/qpack.js";
import type { BidiStream } from "../../src/transport/session.js";
import { Reader, Writer } from "../../src/util/bytes.js";
import { within } from "../util/moq.js";

export async function h3(client: QuicEndpoint, port: number): Promise<QuicConnection> {
  const c = await within(client.connect({ host: "127.0.0.1", port, serverName: "localhost", alpns: ["h3"], insecure: true }), 5000, "handshake");
  const control = await c.openUni();
  control.write(new Writer(1).varint(StreamType.Control).finish());
  control.write(encodeSettings(new Map([[0x1, 0], [0x8, 1], [0x33, 1]])));
  return c;
}

export interface Response {
  status?: number;
  headers?: Map<string, string>;
  reset?: number;
  stream: BidiStream;
}

/** Send a request's HEADERS and read the response's :status (or the reset code). */
export async function request(c: QuicConnection, fields: Array<[string, string]> | Uint8Array, fin = false): Promise<Response> {
  const s = await c.openBidi();
  return new Promise((resolve) => {
    let buf = new Uint8Array(0);
    s.recv.onData = (d) => {
      buf = Buffer.concat([buf, d]);
      try {
        const f = readFrame(new Reader(buf), 65536);
        const headers = new Map(decodeFieldSection(f.payload));
        resolve({ status: Number(headers.get(":status")), headers, stream: s });
      } catch {
        // wait for more
      }
    };
    s.recv.onReset = (code) => resolve({ reset: code, stream: s });
    s.send.write(fields instanceof Uint8Array ? fields : encodeFrame(Frame.Headers, encodeFieldSection(fields)));
    if (fin) s.send.end();
  });
}

export const connectHeaders = (path: string): Array<[string, string]> => [
  [":method", "CONNECT"],
  [":protocol", "webtransport"],
  [":scheme", "https"],
  [":authority", "localhost"],
  [":path", path],
  ["wt-available-protocols", '"moq-lite-05"'],
];
