// A publisher in its own process, so a test can SIGKILL it the way an encoder dies: connects to
// argv[2] with @moq/net, publishes broadcast argv[3] with one track "video", and writes a frame
// `<id>:<n>:<ms since epoch>` every 20 ms, a new group every 15 frames, until it is killed.
// Prints "publishing" once connected.
import { connect, publish, writeFrames } from "../util/moq.js";

const [url, path, id] = process.argv.slice(2);
const conn = await connect(url, { timeoutMs: 10_000 });
const pub = publish(conn, path, "video");
let n = 0;
let group = pub.track.appendGroup();
setInterval(() => {
  if (n > 0 && n % 15 === 0) {
    group.close();
    group = pub.track.appendGroup();
  }
  writeFrames(group, [`${id}:${n}:${Date.now()}`]);
  n++;
}, 20);
process.stdout.write("publishing\n");
