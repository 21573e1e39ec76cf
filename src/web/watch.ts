// Watch: the live list of broadcasts under the root (GET /announced/<root>, the relay's own
// authorised view) and a <moq-watch> element from @moq/watch that subscribes, decodes with
// WebCodecs and paints to a canvas. The page reads the element's signals for its figures.
import "@moq/watch/element";
import type MoqWatch from "@moq/watch/element";
import { byId, every, setText } from "./dom.js";
import { describe, type Settings } from "./settings.js";

export function setupWatch(settings: Settings): void {
  const list = byId<HTMLUListElement>("watch-list");
  const view = byId("watch-view");
  let shown = "";
  let watching: { el: MoqWatch; name: string; stopPoll: () => void } | undefined;

  const stopWatching = (): void => {
    watching?.stopPoll();
    watching?.el.remove();
    watching = undefined;
    view.replaceChildren();
  };

  const watch = (name: string): void => {
    stopWatching();
    const el = document.createElement("moq-watch");
    el.append(document.createElement("canvas"));
    view.append(el);
    if (settings.transport() === "webtransport") el.connection.websocket = { enabled: false };
    // Download even when scrolled out of view or in a background tab: this is a monitor.
    el.visible = "always";
    el.name = name;
    el.url = settings.url();
    setText("watch-name", name);
    let rtt: number | undefined;
    let tick = 0;
    const stopPoll = every(250, async () => {
      // The transport's smoothed RTT (WebTransport stats), refreshed once a second.
      const conn = el.connection.established.peek();
      if (conn !== undefined && tick++ % 4 === 0) rtt = (await conn.stats().catch(() => undefined))?.rtt;
      setText("watch-protocol", describe(conn));
      const display = el.video.out.display.peek();
      setText("watch-resolution", display ? `${display.width}×${display.height}` : "–");
      const stats = el.video.out.stats.peek();
      setText("watch-frames", String(stats?.frameCount ?? 0));
      // What the viewer can measure: how far playback sits behind the newest frame received (the
      // jitter buffer) plus half the RTT to the relay. Capture, encode and the publisher's uplink
      // are not in it (the test pattern burns a clock into the picture for a glass-to-glass check).
      const buffer = Math.round(el.sync.out.buffer.peek());
      const half = rtt === undefined ? undefined : Math.round(rtt / 2);
      setText("watch-latency", stats === undefined ? "–" : half === undefined ? `≈${buffer} ms (buffer)` : `≈${buffer + half} ms (${buffer} ms buffer + ½ RTT ${half} ms)`);
    });
    watching = { el, name, stopPoll };
    render(lastNames);
  };

  let lastNames: string[] = [];
  const render = (names: string[]): void => {
    lastNames = names;
    const key = JSON.stringify([names, watching?.name]);
    if (key === shown) return;
    shown = key;
    if (names.length === 0) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "none yet";
      list.replaceChildren(li);
      return;
    }
    list.replaceChildren(
      ...names.map((n) => {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = n;
        b.dataset.name = n;
        if (n === watching?.name) b.className = "active";
        b.addEventListener("click", () => watch(n));
        li.append(b);
        return li;
      }),
    );
  };

  every(1000, async () => {
    const url = settings.url();
    const root = settings.root();
    setText("watch-prefix", `/${root}`);
    const target = new URL(`/announced/${root}`, url);
    target.search = url.search;
    const res = await fetch(target, { cache: "no-store" });
    if (!res.ok) {
      render([]);
      setText("watch-prefix", `/${root} (${res.status} ${(await res.text()).trim()})`);
      return;
    }
    const names = ((await res.json()) as unknown[]).filter((n): n is string => typeof n === "string" && n !== "");
    render(names);
  });

  settings.onChange(() => {
    shown = "";
    stopWatching();
  });
}
