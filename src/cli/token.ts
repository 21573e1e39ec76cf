// `moq-token`: make keys, sign tokens, check tokens. Interoperates with @moq/token and the Rust tool.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import yargs from "yargs";
import { parseExpiry, signToken, TokenError, verifyToken } from "../token/claims.js";
import { ALGORITHMS, generateKey, isAlgorithm, KeyError, parseKey, publicKey, serializeKey, type Jwk } from "../token/key.js";

class UserError extends Error {}

function readKey(path: string): Jwk {
  let text: string;
  try {
    text = path === "-" ? readFileSync(0, "utf8") : readFileSync(path, "utf8");
  } catch (e) {
    throw new UserError(`cannot read key ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return parseKey(text);
  } catch (e) {
    throw new UserError(`${path}: ${(e as Error).message}`);
  }
}

function writeSecret(path: string, text: string, force: boolean): void {
  if (existsSync(path) && !force) throw new UserError(`${path} already exists (pass --force to overwrite)`);
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600); // mode is ignored when the file already existed
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function main(argv: string[]): Promise<void> {
  try {
    await yargs(argv)
      .scriptName("moq-token")
      .usage("$0 --key KEY <command>\n\nGenerate keys and sign or verify moq-relay tokens (JWT).")
      .option("key", { type: "string", demandOption: true, describe: "JWK file (- = stdin for sign/verify)" })
      .command(
        "generate",
        "write a new private key to --key (mode 0600)",
        (y) =>
          y
            .option("algorithm", { alias: "alg", choices: ALGORITHMS, default: "HS256" as const, describe: "signing algorithm" })
            .option("id", { type: "string", describe: "key id (kid); random if omitted" })
            .option("public", { type: "string", describe: "also write the public half here (asymmetric keys)" })
            .option("force", { type: "boolean", default: false, describe: "overwrite existing files" }),
        async (a) => {
          if (a.key === "-") throw new UserError("generate writes to a file: give --key PATH");
          if (!isAlgorithm(a.algorithm)) throw new UserError(`unsupported algorithm ${a.algorithm}`);
          const key = await generateKey(a.algorithm, a.id).catch((e: unknown) => {
            throw e instanceof KeyError ? new UserError(e.message) : e;
          });
          if (a.public !== undefined && key.kty === "oct") throw new UserError(`${a.algorithm} is symmetric: there is no public half (the relay needs the secret key)`);
          writeSecret(a.key, serializeKey(key), a.force);
          if (a.public !== undefined) {
            if (existsSync(a.public) && !a.force) throw new UserError(`${a.public} already exists (pass --force to overwrite)`);
            writeFileSync(a.public, serializeKey(publicKey(key)));
          }
          process.stderr.write(`wrote ${a.algorithm} key ${key.kid} to ${a.key}${a.public ? ` (public half: ${a.public})` : ""}\n`);
        },
      )
      .command(
        "sign",
        "print a signed token",
        (y) =>
          y
            .option("root", { type: "string", default: "", describe: "root path the grants are relative to" })
            .option("publish", { alias: "put", type: "string", array: true, default: [] as string[], describe: 'prefix the holder may publish ("" = all under root)' })
            .option("subscribe", { alias: "get", type: "string", array: true, default: [] as string[], describe: 'prefix the holder may subscribe to ("" = all under root)' })
            .option("expires", { type: "string", describe: "unix seconds, or +30m / +1h / +7d" })
            .option("cluster", { type: "boolean", default: false, describe: "token for a peer relay (may publish reserved namespaces)" }),
        async (a) => {
          const key = readKey(a.key);
          let exp: number | undefined;
          if (a.expires !== undefined) {
            try {
              exp = parseExpiry(a.expires);
            } catch (e) {
              throw new UserError((e as Error).message);
            }
          }
          const token = await signToken(key, { root: a.root, put: a.publish.map(String), get: a.subscribe.map(String), exp, cluster: a.cluster });
          process.stdout.write(`${token}\n`);
        },
      )
      .command(
        "verify [token]",
        "check a token and print its claims as JSON (token from the argument or stdin)",
        (y) => y.positional("token", { type: "string", describe: "the token, or - for stdin" }),
        async (a) => {
          // yargs turns a lone "-" into "": both mean stdin.
          const fromStdin = a.token === undefined || a.token === "" || a.token === "-";
          if (a.key === "-" && fromStdin) throw new UserError("key and token cannot both come from stdin");
          const key = readKey(a.key);
          const token = (fromStdin ? await readStdin() : (a.token as string)).trim();
          const claims = await verifyToken(key, token);
          process.stdout.write(`${JSON.stringify(claims, null, 2)}\n`);
        },
      )
      .demandCommand(1, "give a command: generate, sign or verify")
      .strictOptions()
      .strictCommands()
      .fail((msg, err) => {
        throw err ?? new UserError(msg);
      })
      .help()
      .parseAsync();
  } catch (e) {
    if (e instanceof UserError || e instanceof TokenError || e instanceof KeyError) {
      process.stderr.write(`moq-token: ${e.message}\n`);
      process.exit(e instanceof UserError && /Unknown|Missing required|give a command|Invalid values/.test(e.message) ? 2 : 1);
    }
    throw e;
  }
}
