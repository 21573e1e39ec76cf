// Bytes cross page.evaluate as base64 strings: Playwright serialises plain JSON-like values.

export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  // Chunked so a large frame does not overflow the argument limit of fromCharCode.
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
