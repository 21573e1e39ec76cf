// The second, independent IETF implementation (OpenMOQ, see openmoq.ts) on draft-14: the
// "moq-00" WebTransport protocol, the version chosen in CLIENT_SETUP.
import { openMoqTest } from "./openmoq.js";

openMoqTest("moq-00");
