// Background work started from a callback has nobody to await it. A rejection there would become
// an unhandled rejection, which ends the whole process: every such promise is handed to detach()
// with the place its failure belongs (close that stream or session, log it), never dropped.

/** Run `p` in the background; if it rejects, `onError` decides what the failure closes. */
export function detach(p: Promise<unknown>, onError: (err: unknown) => void): void {
  p.then(undefined, (err: unknown) => {
    try {
      onError(err);
    } catch {
      // The handler is the last stop: a failure inside it must not escape as a rejection either.
    }
  });
}
