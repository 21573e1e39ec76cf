// `moq-token`: make keys, sign tokens, check tokens. Interoperates with @moq/token and the Rust tool.
// Every failure a user can cause prints one line on stderr and exits 1 (2 for usage errors).
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import yargs from "yargs";
import { parseExpiry, signToken, TokenError, verifyToken } from "../token/claims.js";
import { ALGORITHMS, canSign, generateKey, KeyError, parseKey, publicKey, serializeKey, type Algorithm, type Jwk } from "../token/key.js";

class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

function readText(path: string, what: string): string {
  try {
    return path === "-" ? readFileSync(0, "utf8") : readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read ${what} ${path}: ${code === "ENOENT" ? "no such file" : (code ?? (e as Error).message)}`);
  }
}

function readKey(path: string): Jwk {
  try {
    return parseKey(readText(path, "key"));
  } catch (e) {
    if (e instanceof KeyError) throw new UserError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Create `path` (refusing to replace it unless forced). Secrets get mode 0600 even when replaced. */
function writeNew(path: string, text: string, secret: boolean, force: boolean): void {
  try {
    writeFileSync(path, text, { mode: secret ? 0o600 : 0o644, flag: force ? "w" : "wx" });
    if (secret) chmodSync(path, 0o600); // `mode` only applies when the file is created
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UserError(`${path} already exists (pass --force to overwrite)`);
    throw new UserError(`cannot write ${path}: ${code ?? (e as Error).message}`);
  }
}

async function generate(a: { key: string; algorithm: Algorithm; id?: string; public?: string; force: boolean }): Promise<void> {
  const pub = a.public;
  if (pub !== undefined && a.algorithm.startsWith("HS")) throw new UserError(`${a.algorithm} is symmetric: there is no public half (the relay needs the secret key itself)`);
  if (a.key === "-" && pub === "-") throw new UserError("cannot write both keys to stdout");
  // Check both destinations before writing either, so a refusal leaves nothing half-done.
  for (const p of [a.key, pub]) if (p !== undefined && p !== "-" && !a.force && existsSync(p)) throw new UserError(`${p} already exists (pass --force to overwrite)`);
  const key = await generateKey(a.algorithm, a.id);
  if (pub !== undefined) {
    if (pub === "-") process.stdout.write(serializeKey(publicKey(key)));
    else writeNew(pub, serializeKey(publicKey(key)), false, a.force);
  }
  if (a.key === "-") process.stdout.write(serializeKey(key));
  else writeNew(a.key, serializeKey(key), true, a.force);
  const where = a.key === "-" ? "stdout" : a.key;
  process.stderr.write(`wrote ${a.algorithm} key ${String(key.kid)} to ${where}${pub !== undefined ? ` (public half: ${pub === "-" ? "stdout" : pub})` : ""}\n`);
}

async function sign(a: { key: string; root: string; publish: string[]; subscribe: string[]; expires?: string; issued?: number; cluster: boolean }): Promise<void> {
  const key = readKey(a.key);
  if (!canSign(key)) throw new UserError(`${a.key} cannot sign: it is a public (verify-only) key; sign with the private key`);
  let exp: number | undefined;
  if (a.expires !== undefined) {
    try {
      exp = parseExpiry(a.expires);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }
  const token = await signToken(key, { root: a.root, put: a.publish.map(String), get: a.subscribe.map(String), exp, iat: a.issued, cluster: a.cluster });
  if (exp !== undefined && exp < Math.floor(Date.now() / 1000)) {
    process.stderr.write(`moq-token: note: this token expired at ${new Date(exp * 1000).toISOString()}; relays refuse it (useful for testing that)\n`);
  }
  process.stdout.write(`${token}\n`);
}

async function verify(a: { key: string; token?: string }): Promise<void> {
  // yargs turns a lone "-" into "": both mean stdin, as does no argument at all.
  const fromStdin = a.token === undefined || a.token === "" || a.token === "-";
  if (a.key === "-" && fromStdin) throw new UserError("the key and the token cannot both come from stdin");
  const key = readKey(a.key);
  const token = (fromStdin ? readText("-", "token from") : String(a.token)).trim();
  if (token === "") throw new UserError("no token given (pass it as an argument or on stdin)");
  const claims = await verifyToken(key, token);
  process.stdout.write(`${JSON.stringify(claims, null, 2)}\n`);
}

/**
 * yargs reads `--expires -1h` as the flags -1 and -h. A value after --expires that starts with a
 * minus and a digit is a past offset: bind it to the option before yargs sees it.
 */
function bindPastOffsets(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === "--expires" && next !== undefined && /^-\d/.test(next)) {
      out.push(`--expires=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await yargs(bindPastOffsets(argv))
      .scriptName("moq-token")
      .usage("$0 --key KEY <command>\n\nGenerate keys and sign or verify moq-relay tokens (JWT).")
      .option("key", { type: "string", demandOption: true, describe: "JWK file (- = stdin for sign/verify, stdout for generate)" })
      .command(
        "generate",
        "write a new private key to --key (mode 0600)",
        (y) =>
          y
            .option("algorithm", { alias: "alg", choices: ALGORITHMS, default: "HS256" as Algorithm, describe: "signing algorithm" })
            .option("id", { type: "string", describe: "key id (kid), 1-128 of A-Z a-z 0-9 _ -; random if omitted" })
            .option("public", { type: "string", describe: "also write the public half here (asymmetric algorithms only)" })
            .option("force", { type: "boolean", default: false, describe: "overwrite existing files" }),
        (a) => generate(a),
      )
      .command(
        "sign",
        "print a signed token",
        (y) =>
          y
            .option("root", { type: "string", default: "", describe: "root path the grants are relative to" })
            .option("publish", { alias: "put", type: "string", array: true, default: [] as string[], describe: 'prefix the holder may publish ("" = everything under root)' })
            .option("subscribe", { alias: "get", type: "string", array: true, default: [] as string[], describe: 'prefix the holder may subscribe to ("" = everything under root)' })
            .option("expires", { type: "string", describe: "unix seconds, or +30m / +1h / +7d from now (-1h: already expired, for testing)" })
            .option("issued", { type: "number", describe: "issued-at, unix seconds (default now)" })
            .option("cluster", { type: "boolean", default: false, describe: "token for a peer relay (may publish reserved namespaces)" }),
        (a) => sign(a),
      )
      .command(
        "verify [token]",
        "check a token and print its claims as JSON (token from the argument or stdin)",
        (y) => y.positional("token", { type: "string", describe: "the token, or - for stdin" }),
        (a) => verify(a),
      )
      .demandCommand(1, "give a command: generate, sign or verify")
      .strictOptions()
      .strictCommands()
      .fail((msg, err) => {
        throw err ?? new UserError(msg.replace(/\s*\n\s*/g, " "), 2);
      })
      .help()
      .parseAsync();
  } catch (e) {
    // A user error is one line, never a stack trace; anything else is still reported in one line.
    const known = e instanceof UserError || e instanceof TokenError || e instanceof KeyError;
    process.stderr.write(`moq-token: ${known ? "" : "error: "}${(e as Error).message ?? String(e)}\n`);
    process.exitCode = e instanceof UserError ? e.exitCode : 1;
  }
}
