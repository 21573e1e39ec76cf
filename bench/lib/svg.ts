// A dependency-free SVG chart of a ramp: viewers against delivered egress (left) and against p99
// frame latency (right), one line per transport, with the offered rate as a dashed reference.
import type { Row } from "./run.js";

const COLORS: Record<string, string> = { ws: "#1f77b4", quic: "#2ca02c", wt: "#d62728" };
const W = 420;
const H = 280;
const PAD = 48;

function panel(x0: number, title: string, rows: Row[], y: (r: Row) => number, unit: string, offered?: (r: Row) => number): string {
  const xs = rows.map((r) => r.viewers);
  const ys = rows.map(y).concat(offered ? rows.map(offered) : []).filter(Number.isFinite);
  const xmax = Math.max(1, ...xs);
  const ymax = Math.max(1e-9, ...ys) * 1.1;
  const px = (v: number): number => x0 + PAD + (v / xmax) * (W - 2 * PAD);
  const py = (v: number): number => H - PAD + -(v / ymax) * (H - 2 * PAD);
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="13">${title}</text>`);
  out.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(xmax)}" y2="${py(0)}" stroke="#444"/><line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${PAD / 2}" stroke="#444"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax / 4) * i;
    out.push(`<text x="${px(0) - 4}" y="${py(v) + 4}" text-anchor="end" font-size="10">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text>`);
  }
  for (const v of [...new Set(xs)]) out.push(`<text x="${px(v)}" y="${H - PAD + 14}" text-anchor="middle" font-size="10">${v}</text>`);
  out.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">viewers</text>`);
  out.push(`<text x="${x0 + 12}" y="${H / 2}" font-size="11" transform="rotate(-90 ${x0 + 12} ${H / 2})" text-anchor="middle">${unit}</text>`);
  const byT = new Map<string, Row[]>();
  for (const r of rows) byT.set(r.transport, [...(byT.get(r.transport) ?? []), r]);
  let legend = 0;
  for (const [t, rs] of byT) {
    const pts = rs.filter((r) => Number.isFinite(y(r))).map((r) => `${px(r.viewers).toFixed(1)},${py(y(r)).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${COLORS[t] ?? "#000"}" stroke-width="2" points="${pts.join(" ")}"/>`);
    for (const p of pts) out.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="2.5" fill="${COLORS[t] ?? "#000"}"/>`);
    out.push(`<text x="${px(0) + 8}" y="${PAD / 2 + 12 + 13 * legend++}" font-size="11" fill="${COLORS[t] ?? "#000"}">${t}</text>`);
    if (offered) {
      const o = rs.map((r) => `${px(r.viewers).toFixed(1)},${py(offered(r)).toFixed(1)}`);
      out.push(`<polyline fill="none" stroke="#999" stroke-dasharray="4 3" points="${o.join(" ")}"/>`);
    }
  }
  return out.join("\n");
}

export function chart(rows: Row[], caption: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 20}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(0, "delivered egress (dashed: offered)", rows, (r) => r.deliveredMbps, "Mb/s", (r) => r.offeredMbps),
    panel(W, "p99 frame latency", rows, (r) => r.p99, "ms"),
    `<text x="${W}" y="${H + 14}" text-anchor="middle" font-size="10" fill="#555">${caption.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</text>`,
    "</svg>",
  ].join("\n");
}
