// GET /certificate.sha256: the certificate bootstrap for `http://` URLs (moq-wire §0 flag 7). A
// client fetches the lowercase hex SHA-256 of our leaf certificate over plain HTTP, pins it with
// `serverCertificateHashes`, then dials WebTransport on the same host and port. Browsers fetch it
// cross-origin, so the router's CORS header matters here.
import type { CertStore } from "../transport/tls/cert.js";
import { text, type Router } from "./router.js";

export function registerCertificateRoute(router: Router, certs: CertStore): void {
  // Read per request: a renewed certificate is served at once. No trailing newline.
  router.get("/certificate.sha256", (_req, res) => text(res, 200, certs.fingerprint));
}
