// `Authorization: Bearer <jwt>` is accepted wherever `?jwt=` is (WebSocket upgrades, WebTransport
// CONNECT, HTTP routes): the header's token is moved into the URL the authenticator reads, unless
// the URL already names one (the query wins, as it is what the client chose to put in the URL).

/** `url` with the bearer token of `authorization` as its `jwt` parameter (a copy; unchanged without one). */
export function withBearer(url: URL, authorization: string | undefined): URL {
  if (authorization === undefined) return url;
  const m = /^\s*Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization);
  if (m === null || url.searchParams.getAll("jwt").some((t) => t !== "")) return url;
  const out = new URL(url);
  out.searchParams.set("jwt", m[1]);
  return out;
}
