// Test helpers: the real @moq/net IETF codec (the client the relay must interoperate with),
// driven over in-memory streams for one draft at a time.
import * as Announce from "../../node_modules/@moq/net/ietf/subscribe_namespace.js";
import * as Fetch from "../../node_modules/@moq/net/ietf/fetch.js";
import * as Goaway from "../../node_modules/@moq/net/ietf/goaway.js";
import * as Obj from "../../node_modules/@moq/net/ietf/object.js";
import * as Params from "../../node_modules/@moq/net/ietf/parameters.js";
import * as Publish from "../../node_modules/@moq/net/ietf/publish.js";
import * as PublishNs from "../../node_modules/@moq/net/ietf/publish_namespace.js";
import * as Request from "../../node_modules/@moq/net/ietf/request.js";
import * as Setup from "../../node_modules/@moq/net/ietf/setup.js";
import * as Subscribe from "../../node_modules/@moq/net/ietf/subscribe.js";
import * as Time from "../../node_modules/@moq/net/time.js";
import * as ClientStream from "../../node_modules/@moq/net/stream.js";
import { concat } from "../lite/wire.js";

/** The real client's IETF codec (its package index is not importable under NodeNext types). */
export const Client = { ...Announce, ...Fetch, ...Goaway, ...Obj, ...Params, ...Publish, ...PublishNs, ...Request, ...Setup, ...Subscribe, ...Time };

type ClientVersion = ConstructorParameters<typeof ClientStream.Writer>[1];

/** What the real client's encoder writes for draft `v`. */
export async function clientEncode(v: number, fn: (w: ClientStream.Writer) => Promise<void>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const w = new ClientStream.Writer(
    new WritableStream<Uint8Array>({
      write(chunk) {
        chunks.push(chunk.slice());
      },
    }),
    v as ClientVersion,
  );
  await fn(w);
  w.close();
  await w.closed;
  return concat(chunks);
}

/** A client Reader over fixed bytes for draft `v` (EOF after them). */
export function clientReader(bytes: Uint8Array, v: number): ClientStream.Reader {
  return new ClientStream.Reader(undefined, bytes.slice(), v as ClientVersion);
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
