// A generated test pattern for machines without a camera: colour bars, a sweeping bar and a clock
// drawn on a canvas, captured as a MediaStreamTrack that @moq/publish encodes like a camera.

export interface Pattern {
  track: MediaStreamTrack;
  stop(): void;
}

const BARS = ["#c0c0c0", "#c0c000", "#00c0c0", "#00c000", "#c000c0", "#c00000", "#0000c0"];

export function testPattern(label: string, width = 640, height = 360, fps = 30): Pattern {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (ctx === null) throw new Error("no 2d canvas context for the test pattern");
  const started = performance.now();
  let frame = 0;
  const draw = (): void => {
    const t = (performance.now() - started) / 1000;
    const w = width / BARS.length;
    BARS.forEach((c, i) => {
      ctx.fillStyle = c;
      ctx.fillRect(Math.floor(i * w), 0, Math.ceil(w), height * 0.7);
    });
    ctx.fillStyle = "#101010";
    ctx.fillRect(0, height * 0.7, width, height * 0.3);
    const x = ((t * 0.25) % 1) * width;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(x, height * 0.7, 8, height * 0.3);
    ctx.font = `${Math.round(height / 12)}px monospace`;
    ctx.fillText(`${label}  ${new Date().toISOString().slice(11, 23)}  #${frame++}`, 16, height * 0.9);
  };
  draw();
  const timer = setInterval(draw, 1000 / fps);
  const [track] = canvas.captureStream(fps).getVideoTracks();
  if (track === undefined) throw new Error("canvas.captureStream gave no video track");
  return {
    track,
    stop() {
      clearInterval(timer);
      track.stop();
    },
  };
}
