// A QUIC Initial flood, from its own process (so the relay under test shares no CPU turn with it):
// `node --import tsx test/quic/flood.child.ts <port> <addresses> <real> <crafted>` sends <real>
// genuine client Initials (each a fresh connection that never continues) and <crafted> Initial-
// sized datagrams with a valid long header, fresh connection ids and a random payload, spread over
// <addresses> loopback addresses (127.0.1.x) with four source ports each. Prints "sent N" when done.
import { randomBytes } from "node:crypto";
import { clientInitials, rawSocket, sendAll } from "./initials.js";

const [port, addresses, real, crafted] = process.argv.slice(2).map(Number);

/** A QUIC v1 long-header Initial (RFC 9000 §17.2.2), 1200 bytes, that no key decrypts. */
function craftedInitial(): Buffer {
  const dcid = randomBytes(8 + (randomBytes(1)[0] % 13));
  const scid = randomBytes(8);
  const head = Buffer.concat([Buffer.from([0xc3, 0, 0, 0, 1, dcid.length]), dcid, Buffer.from([scid.length]), scid, Buffer.from([0])]);
  const rest = 1200 - head.length - 2;
  return Buffer.concat([head, Buffer.from([0x40 | (rest >> 8), rest & 0xff]), randomBytes(rest)]);
}

const sockets = [];
for (let a = 1; a <= addresses; a++) for (let k = 0; k < 4; k++) sockets.push(await rawSocket(`127.0.1.${a}`));
const packets: Buffer[] = [];
// Real Initials in batches, interleaved with crafted ones, so both arrive throughout the flood.
const batches = 20;
for (let b = 0; b < batches; b++) {
  packets.push(...clientInitials(Math.ceil(real / batches), "moq-lite-05"));
  for (let i = 0; i < Math.ceil(crafted / batches); i++) packets.push(craftedInitial());
}
// Each socket sends its share: many distinct 4-tuples and connection ids.
const share = Math.ceil(packets.length / sockets.length);
await Promise.all(sockets.map((s, i) => sendAll(s.socket, port, packets.slice(i * share, (i + 1) * share), 16)));
for (const s of sockets) await s.close();
process.stdout.write(`sent ${packets.length}\n`);
