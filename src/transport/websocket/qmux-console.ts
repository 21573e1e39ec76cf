// @moq/qmux reports each session it kills for a protocol violation with
// `console.error("Protocol violation:", err)` (and a failed keep-alive ping with console.warn):
// one unlimited stderr write, stack included, per malformed session, so an anonymous client
// opening malformed sessions in a loop floods the journal. The library takes no logger, so these
// two exact calls are taken out of the console here (nothing else is: every other console line,
// and the relay's own pino output, passes untouched) and become a fact the session reads:
// WebSocketSession reports the session closed with ProtocolViolation, and the acceptor writes
// one rate-limited structured line for them.

/** The decode errors qmux killed a session for (weak: gone with the session). */
const violations = new WeakSet<object>();
let installed = false;

/** The first argument of each qmux console call taken out. */
const ERROR_LINE = "Protocol violation:";
const WARN_LINE = "qmux: keep-alive ping failed";

/** Take qmux's per-session console lines out of the console (idempotent). */
export function quietQmux(): void {
  if (installed) return;
  installed = true;
  const error = console.error;
  const warn = console.warn;
  console.error = (...args: unknown[]): void => {
    if (args[0] === ERROR_LINE && args.length === 2) {
      if (typeof args[1] === "object" && args[1] !== null) violations.add(args[1]);
      return;
    }
    Reflect.apply(error, console, args);
  };
  // A failed ping is followed by the session's close, which is logged with its reason.
  console.warn = (...args: unknown[]): void => {
    if (args[0] === WARN_LINE && args.length === 2) return;
    Reflect.apply(warn, console, args);
  };
}

/** True when qmux ended a session for `err` as a protocol violation (bytes it could not accept). */
export function isQmuxViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && violations.has(err);
}
