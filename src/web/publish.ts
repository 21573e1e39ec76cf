// Publish: a <moq-publish> element from @moq/publish (capture, WebCodecs encode, catalog, moq-lite
// over WebTransport with its own WebSocket fallback). The page only chooses what to feed it.
import "@moq/publish/element";
import type MoqPublish from "@moq/publish/element";
import { byId, every, setText } from "./dom.js";
import { testPattern, type Pattern } from "./pattern.js";
import { describe, type Settings } from "./settings.js";

type Source = "camera" | "screen" | "pattern";

export function setupPublish(settings: Settings): void {
  const form = byId<HTMLFormElement>("pub-form");
  const name = byId<HTMLInputElement>("pub-name");
  const source = byId<HTMLSelectElement>("pub-source");
  const mic = byId<HTMLInputElement>("pub-mic");
  const start = byId<HTMLButtonElement>("pub-start");
  const stop = byId<HTMLButtonElement>("pub-stop");
  const view = byId("pub-view");
  name.value = `cam-${Math.random().toString(16).slice(2, 6)}`;

  // Without a camera, offer the generated pattern first.
  navigator.mediaDevices
    ?.enumerateDevices()
    .then((devices) => {
      if (!devices.some((d) => d.kind === "videoinput")) source.value = "pattern";
    })
    .catch(() => undefined);

  let current: { el: MoqPublish; pattern?: Pattern; stopPoll: () => void } | undefined;

  const end = (): void => {
    if (current === undefined) return;
    current.stopPoll();
    current.pattern?.stop();
    current.el.remove(); // disconnectedCallback closes its connection and broadcast
    current = undefined;
    view.replaceChildren();
    start.disabled = false;
    stop.disabled = true;
    setText("pub-state", "stopped");
    setText("pub-protocol", "–");
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    end();
    const el = document.createElement("moq-publish");
    const preview = document.createElement("video");
    preview.muted = true;
    preview.autoplay = true;
    preview.playsInline = true;
    el.append(preview);
    view.append(el);
    // Read by the connection when it dials: WebTransport only means no WebSocket fallback.
    if (settings.transport() === "webtransport") el.connection.websocket = { enabled: false };
    el.name = name.value.trim();
    el.muted = !mic.checked;
    let pattern: Pattern | undefined;
    const kind = source.value as Source;
    if (kind === "pattern") {
      pattern = testPattern(el.name);
      el.broadcast.video.source.set(pattern.track as MediaStreamTrack & { kind: "video" } as never);
    } else {
      el.source = kind;
    }
    el.url = settings.url();
    const path = [settings.root(), el.name].filter((s) => s !== "").join("/");
    setText("pub-path", path);
    const stopPoll = every(500, () => {
      const status = el.connection.status.peek();
      const conn = el.connection.established.peek();
      setText("pub-state", status === "connected" ? "live" : status);
      setText("pub-protocol", describe(conn));
    });
    current = { el, stopPoll, ...(pattern ? { pattern } : {}) };
    start.disabled = true;
    stop.disabled = false;
  });
  stop.addEventListener("click", end);
}
