// Our moq-token CLI and @moq/token@0.2.3's own, run as a user would (see test/util/spawn.ts).
import { ROOT, runScript, type RunResult } from "../util/spawn.js";

export { ROOT };
export type Result = RunResult;
export const OUR_CLI = `${ROOT}bin/moq-token.js`;
export const THEIR_CLI = `${ROOT}node_modules/@moq/token/cli.js`;

/** `moq-token ...args` (our CLI, built into dist/). */
export const ours = (args: string[], input?: string): Promise<Result> => runScript(OUR_CLI, args, { input });
/** @moq/token@0.2.3's own CLI. */
export const theirs = (args: string[], input?: string): Promise<Result> => runScript(THEIR_CLI, args, { input });
