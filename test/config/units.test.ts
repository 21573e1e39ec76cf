import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBind, parseDuration, parseSize } from "../../src/config/units.js";
import { indexLines, lineOf } from "../../src/config/locate.js";

test("sizes: bytes, binary and decimal units, and percentages of memory", () => {
  assert.equal(parseSize(1234, 0), 1234);
  assert.equal(parseSize("512MiB", 0), 512 * 1024 * 1024);
  assert.equal(parseSize("64MB", 0), 64_000_000);
  assert.equal(parseSize("64KiB", 0), 65_536);
  assert.equal(parseSize("1.5GiB", 0), 1.5 * 1024 ** 3);
  assert.equal(parseSize("16 mib", 0), 16 * 1024 * 1024);
  assert.equal(parseSize("25%", 1000), 250);
  for (const bad of ["0%", "150%", "12 parsecs", "-5", "MiB", ""]) assert.throws(() => parseSize(bad, 1000), /size|percentage/, bad);
  assert.throws(() => parseSize(1.5, 0), /byte count/);
  assert.throws(() => parseSize(-1, 0), /byte count/);
  assert.throws(() => parseSize(true, 0), /expected a size/);
});

test("durations: integer milliseconds or ms/s/m/h strings", () => {
  assert.equal(parseDuration(42), 42);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1.5s"), 1_500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  for (const bad of ["soon", "30", "5 sec", "-1s", ""]) assert.throws(() => parseDuration(bad), /not a duration/, bad);
  assert.throws(() => parseDuration(-5), /duration/);
});

test("bind addresses: host:port and [v6]:port with validated host and port", () => {
  assert.deepEqual(parseBind("[::]:4443"), { host: "::", port: 4443 });
  assert.deepEqual(parseBind("[::1]:443"), { host: "::1", port: 443 });
  assert.deepEqual(parseBind("0.0.0.0:4443"), { host: "0.0.0.0", port: 4443 });
  assert.deepEqual(parseBind("relay.example.com:443"), { host: "relay.example.com", port: 443 });
  assert.deepEqual(parseBind("127.0.0.1:0"), { host: "127.0.0.1", port: 0 }, "0 = any free port");
  assert.throws(() => parseBind("nope"), /is not host:port/);
  assert.throws(() => parseBind("::4443"), /IPv6 needs brackets/);
  assert.throws(() => parseBind("[nope]:1"), /not an IPv6 address/);
  assert.throws(() => parseBind("bad_host!:1"), /not an IP address or host name/);
  assert.throws(() => parseBind("127.0.0.1:99999"), /port must be 1\.\.65535/);
  assert.throws(() => parseBind("127.0.0.1:http"), /port must be/);
  assert.throws(() => parseBind(":4443"), /is not host:port/);
});

test("the line index finds keys under headers, dotted keys, quoted keys and past multi-line values", () => {
  const src = [
    "# comment [not.a.header]", // 1
    "[server]", // 2
    'bind = "[::]:4443" # trailing [comment]', // 3
    "quic.idle_timeout = 5", // 4
    "versions = [", // 5
    '  "moq-lite-05",', // 6
    "  [1, 2],", // 7  looks like a header, but is inside the array
    "]", // 8
    '"tcp" = true', // 9
    "[ tls ]", // 10
    'generate = """', // 11
    "key = not a key", // 12
    '"""', // 13
    'key = "k.pem"', // 14
    "[auth]", // 15
    'public = { publish = ["a"] }', // 16
  ].join("\n");
  const idx = indexLines(src);
  assert.equal(lineOf(idx, "server"), 2);
  assert.equal(lineOf(idx, "server.bind"), 3);
  assert.equal(lineOf(idx, "server.quic.idle_timeout"), 4);
  assert.equal(lineOf(idx, "server.versions"), 5);
  assert.equal(lineOf(idx, "server.tcp"), 9);
  assert.equal(lineOf(idx, "tls"), 10);
  assert.equal(lineOf(idx, "tls.key"), 14);
  assert.equal(lineOf(idx, "auth.public.publish"), 16, "inside an inline table: the table's line");
  assert.equal(lineOf(idx, "server.udp"), 2, "absent key: its section's line");
  assert.equal(idx.has("1"), false);
});
