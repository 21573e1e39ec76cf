// The relay's browser page: publish a camera (or a test pattern), watch what is live under the
// root, and see what the relay carries. Bundled by scripts/build-web.mjs into dist/web.
import { setupPublish } from "./publish.js";
import { readSettings } from "./settings.js";
import { setupStatus } from "./status.js";
import { setupWatch } from "./watch.js";

const settings = readSettings();
setupPublish(settings);
setupWatch(settings);
setupStatus(settings);
