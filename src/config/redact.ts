// Printing the effective config (`--check`) must not leak credentials: tokens can ride in URLs.
import type { Config } from "./types.js";

const REDACTED = "<redacted>";

function redactUrl(s: string): string {
  return s.replace(/([?&](?:jwt|token|key|secret)=)[^&#\s]*/gi, `$1${REDACTED}`);
}

export function redact(config: Config): Config {
  const copy = structuredClone(config);
  copy.cluster.nodes = copy.cluster.nodes.map(redactUrl);
  if (copy.cluster.node !== undefined) copy.cluster.node = redactUrl(copy.cluster.node);
  if (copy.auth.jwks !== undefined) copy.auth.jwks = redactUrl(copy.auth.jwks);
  return copy;
}
