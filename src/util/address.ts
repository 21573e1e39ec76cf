// One key per peer address for every transport: limits counted per address must not split one
// peer into two buckets because a dual-stack socket shows an IPv4 peer as `::ffff:1.2.3.4`.

/** A bare host (no port) as a limit key: lowercase, IPv4-mapped IPv6 folded to plain IPv4. */
export function hostKey(host: string): string {
  const h = host.toLowerCase();
  return h.startsWith("::ffff:") && h.includes(".") ? h.slice(7) : h;
}

/**
 * The address part of a transport's "host:port" ("[v6]:port" or unbracketed "v6:port"; every
 * transport appends the port), as a limit key.
 */
export function addressKey(remote: string): string {
  if (remote.startsWith("[")) return hostKey(remote.slice(1, Math.max(1, remote.indexOf("]"))));
  const colon = remote.lastIndexOf(":");
  return hostKey(colon > 0 ? remote.slice(0, colon) : remote);
}
