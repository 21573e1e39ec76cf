// Small DOM helpers shared by the page's sections.

/** The element with this id; the HTML shell and the scripts ship together, so absence is a bug. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`page element #${id} is missing`);
  return el as T;
}

export function setText(id: string, value: string): void {
  const el = byId(id);
  if (el.textContent !== value) el.textContent = value;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function bitrate(bitsPerSecond: number): string {
  if (bitsPerSecond < 1000) return `${Math.round(bitsPerSecond)} b/s`;
  if (bitsPerSecond < 1e6) return `${(bitsPerSecond / 1e3).toFixed(0)} kb/s`;
  return `${(bitsPerSecond / 1e6).toFixed(bitsPerSecond < 1e7 ? 2 : 1)} Mb/s`;
}

export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** Run `fn` now and every `ms`, never overlapping itself (a slow fetch delays the next one). */
export function every(ms: number, fn: () => Promise<void> | void): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async (): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      console.warn("page: periodic task failed", err);
    }
    if (stopped) return;
    timer = setTimeout(() => {
      tick().catch(() => undefined);
    }, ms);
  };
  tick().catch(() => undefined);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
