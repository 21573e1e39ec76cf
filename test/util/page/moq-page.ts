// Runs inside headless Chromium: the real @moq/net client, driven from Node through page.evaluate
// (see ../browser.ts). It uses the same helpers as the Node harness (./core.ts).
import { PAGE_GLOBAL, type ConnInfo, type PageApi, type WireGroup } from "./api.js";
import { fromBase64, toBase64 } from "./bytes.js";
import { connectPage } from "./connect.js";
import { publish, subscribe, waitAnnounced, within, writeFrames, type Conn, type GroupProducer, type Publisher, type ReceivedGroup, type Reader } from "./core.js";
import { installLegacyApi } from "./legacy.js";

const conns = new Map<number, Conn>();
const pubs = new Map<number, Publisher>();
const openGroups = new Map<string, GroupProducer>();
const readers = new Map<number, Reader>();
let nextId = 1;

function get<T>(map: Map<number, T>, id: number, kind: string): T {
  const v = map.get(id);
  if (v === undefined) throw new Error(`no ${kind} #${id} in this page`);
  return v;
}

function wire(g: ReceivedGroup): WireGroup {
  return { sequence: g.sequence, frames: g.frames.map(toBase64) };
}

const api: PageApi = {
  async connect(url, opts): Promise<ConnInfo> {
    const conn = await connectPage(new URL(url), opts);
    const id = nextId++;
    conns.set(id, conn);
    return { id, version: conn.version, transport: conn.transport };
  },

  async closeConn(id, ms) {
    const conn = conns.get(id);
    if (conn === undefined) return;
    conns.delete(id);
    conn.close();
    await within(conn.closed.catch(() => undefined), ms, `connection #${id} to close`);
  },

  publish(conn, path, track) {
    const id = nextId++;
    pubs.set(id, publish(get(conns, conn, "connection"), path, track));
    return id;
  },

  group(pub, frames, opts) {
    const g = get(pubs, pub, "publisher").group(frames.map(fromBase64), opts);
    if (opts.keepOpen) openGroups.set(`${pub}:${g.sequence}`, g);
    return g.sequence;
  },

  writeFrames(pub, sequence, frames, close) {
    const key = `${pub}:${sequence}`;
    const g = openGroups.get(key);
    if (g === undefined) throw new Error(`group ${sequence} of publisher #${pub} is not open`);
    writeFrames(g, frames.map(fromBase64));
    if (close) {
      g.close();
      openGroups.delete(key);
    }
  },

  waitSubscribed: (pub, ms) => get(pubs, pub, "publisher").waitSubscribed(ms),

  unpublish(pub) {
    pubs.get(pub)?.close();
    pubs.delete(pub);
  },

  waitAnnounced: (conn, prefix, path, ms) => waitAnnounced(get(conns, conn, "connection"), prefix, path, ms),

  subscribe(conn, path, track) {
    const id = nextId++;
    readers.set(id, subscribe(get(conns, conn, "connection"), path, track));
    return id;
  },

  nextGroup: async (reader, ms) => wire(await get(readers, reader, "reader").nextGroup(ms)),

  readGroups: async (reader, count, ms) => (await get(readers, reader, "reader").readGroups(count, ms)).map(wire),

  async nextFrame(reader, ms) {
    const f = await get(readers, reader, "reader").nextFrame(ms);
    return { group: f.group, index: f.index, payload: toBase64(f.payload) };
  },

  unsubscribe(reader) {
    readers.get(reader)?.close();
    readers.delete(reader);
  },
};

installLegacyApi();
Reflect.set(globalThis, PAGE_GLOBAL, api);
