import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthError, canPublish, canSubscribe, isReserved, rebase, requireRole, visiblePrefixes, type Grant } from "../../src/auth/authorize.js";

const grant = (g: Partial<Grant>): Grant => ({ root: "", publish: [], subscribe: [], cluster: false, anonymous: false, ...g });

test("the Rust relay's root examples (token root room/123)", () => {
  // P extends R: the suffix narrows each grant.
  assert.deepEqual(rebase("room/123", ["alice"], [""], "room/123"), { publish: ["alice"], subscribe: [""] });
  assert.deepEqual(rebase("room/123", ["alice"], [""], "room/123/alice"), { publish: [""], subscribe: [""] });
  assert.deepEqual(rebase("room/123", ["alice"], ["bob"], "room/123/bob"), { publish: [], subscribe: [""] });
  assert.deepEqual(rebase("room/123", ["users/alice/camera"], ["users/bob/screen"], "room/123/users"), { publish: ["alice/camera"], subscribe: ["bob/screen"] });
  // P is a parent of R: the rest of the root is prepended.
  assert.deepEqual(rebase("room/123", ["alice"], [], "room"), { publish: ["123/alice"], subscribe: [] });
  assert.deepEqual(rebase("demo", [], [""], ""), { publish: [], subscribe: ["demo"] });
  // Otherwise: unrelated (whole segments only).
  assert.equal(rebase("room/123", [""], [""], "room/1234"), undefined);
  assert.equal(rebase("room/123", [""], [""], "other"), undefined);
  // Claim paths are normalised like URL paths.
  assert.deepEqual(rebase("/room/123/", ["/alice/"], ["//"], "room/123"), { publish: ["alice"], subscribe: [""] });
});

test("permissions are whole-segment prefixes relative to the session root", () => {
  const g = grant({ root: "room/123", publish: ["alice"], subscribe: ["", "x"] });
  assert.ok(canPublish(g, "alice"));
  assert.ok(canPublish(g, "alice/camera"));
  assert.ok(canPublish(g, "/alice/camera/"), "paths are normalised");
  assert.ok(!canPublish(g, "alicex"));
  assert.ok(!canPublish(g, "bob"));
  assert.ok(canSubscribe(g, "anything/at/all"));
  const none = grant({ root: "room", publish: [], subscribe: ["a/b"] });
  assert.ok(!canPublish(none, ""));
  assert.ok(!canSubscribe(none, "a"));
  assert.ok(canSubscribe(none, "a/b/c"));
});

test("reserved namespaces (first segment starting with '.') are publishable only by cluster sessions", () => {
  assert.ok(isReserved(".internal/origins/x"));
  assert.ok(isReserved("/.stats/relay"));
  assert.ok(!isReserved("room/.internal"));
  assert.ok(!isReserved(""));
  const user = grant({ publish: [""], subscribe: [""] });
  const peer = grant({ publish: [""], subscribe: [""], cluster: true });
  for (const p of [".internal/origins/x", ".stats/a", "/.internal"]) {
    assert.ok(!canPublish(user, p), p);
    assert.ok(canPublish(peer, p), p);
  }
  assert.ok(canPublish(user, "room/.hidden"), "only the first segment of the absolute path counts");
  // The rule applies to the absolute path: a session rooted inside a reserved namespace is caught too.
  assert.ok(!canPublish(grant({ root: ".internal", publish: [""] }), "x"));
  assert.ok(canSubscribe(user, ".stats/a"), "reading is governed by the grant alone");
});

test("visiblePrefixes tells an announce watch what it may see", () => {
  const g = grant({ subscribe: ["demo", "rooms/a", "rooms/b/cam"] });
  assert.deepEqual(visiblePrefixes(g, ""), ["demo", "rooms/a", "rooms/b/cam"]);
  assert.deepEqual(visiblePrefixes(g, "rooms"), ["rooms/a", "rooms/b/cam"]);
  assert.deepEqual(visiblePrefixes(g, "demo/x"), ["demo/x"], "a covering grant shows the whole prefix");
  assert.deepEqual(visiblePrefixes(g, "other"), []);
  assert.deepEqual(visiblePrefixes(g, "rooms/b"), ["rooms/b/cam"]);
  assert.deepEqual(visiblePrefixes(grant({ subscribe: [""] }), "any/thing"), ["any/thing"]);
  assert.deepEqual(visiblePrefixes(grant({ subscribe: ["a", "a/b"] }), ""), ["a"], "nested grants are watched once");
});

test("requireRole refuses a role the grant lacks with 403", () => {
  const readOnly = grant({ subscribe: [""] });
  assert.doesNotThrow(() => requireRole(readOnly, "subscriber"));
  assert.throws(
    () => requireRole(readOnly, "publisher"),
    (e: unknown) => e instanceof AuthError && e.status === 403 && e.reason === "role-not-granted" && e.code === 6,
  );
});
