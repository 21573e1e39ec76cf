// The contract between the Chromium page (./moq-page.ts) and its Node driver (../browser.ts).
// Handles are numbers and bytes are base64, because page.evaluate carries JSON-like values only.

export interface PageConnectOptions {
  /**
   * "webtransport": WebTransport only (`websocket: { enabled: false }`).
   * "websocket": QMux over WebSocket only (WebTransport hidden from the client while it connects).
   * "auto": the client's own race (WebTransport first, WebSocket 500 ms later).
   */
  transport: "webtransport" | "websocket" | "auto";
  /** Hex SHA-256 of the server certificate's DER, for `serverCertificateHashes`. */
  certificateHash?: string;
  /** Offer only this protocol (WebTransport `protocols`, or a pinned QMux transport). */
  protocol?: string;
  timeoutMs: number;
}

export interface ConnInfo {
  id: number;
  version: string;
  transport: "webtransport" | "websocket";
}

export interface WireGroup {
  sequence: number;
  frames: string[];
}

export interface WireFrame {
  group: number;
  index: number;
  payload: string;
}

export interface WireGroupOptions {
  keepOpen?: boolean;
  sequence?: number;
}

export interface PageApi {
  connect(url: string, opts: PageConnectOptions): Promise<ConnInfo>;
  /** Close and wait (bounded) for the session to end. */
  closeConn(conn: number, ms: number): Promise<void>;
  publish(conn: number, path: string, track: string): number;
  /** Write a group; returns its sequence. */
  group(pub: number, frames: string[], opts: WireGroupOptions): number;
  /** Append frames to a group left open, optionally closing it. */
  writeFrames(pub: number, sequence: number, frames: string[], close: boolean): void;
  waitSubscribed(pub: number, ms: number): Promise<void>;
  unpublish(pub: number): void;
  waitAnnounced(conn: number, prefix: string, path: string, ms: number): Promise<void>;
  subscribe(conn: number, path: string, track: string): number;
  nextGroup(reader: number, ms: number): Promise<WireGroup>;
  readGroups(reader: number, count: number, ms: number): Promise<WireGroup[]>;
  nextFrame(reader: number, ms: number): Promise<WireFrame>;
  unsubscribe(reader: number): void;
}

/** The page installs its API here once the bundle has loaded. */
export const PAGE_GLOBAL = "moqHarness";
