// The second, independent IETF implementation (OpenMOQ, see openmoq.ts) on drafts 18 and 16.
import { openMoqTest } from "./openmoq.js";

openMoqTest("moqt-18");
openMoqTest("moqt-16");
