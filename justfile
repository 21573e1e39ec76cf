# Developer and operator recipes. `just` lists them (Debian: apt-get install just).
# The multi-region deployment: `just cdn::deploy-all` and friends (cdn/justfile).

mod cdn

moq_token := "node " + justfile_directory() / "bin/moq-token.js"
# Keys made here stay out of git (.dev/ is ignored), relative to where just runs.
keys := ".dev/keys"

# List the recipes.
default:
	@{{just_executable()}} --justfile {{justfile()}} --list

# Install dependencies exactly as locked.
install:
	npm ci

# Run a development relay on the embedded default config (127.0.0.1:4443, self-signed cert, anon/ public).
dev:
	npm start

# Run the relay with a config file.
run config="relay.toml":
	node bin/moq-relay.js --config {{config}}

# Validate a config file and print the effective configuration (secrets redacted).
check config="relay.toml.example":
	node bin/moq-relay.js --config {{config}} --check

# The whole test suite, as CI runs it.
test:
	npm test

lint:
	npm run lint

bench:
	npm run bench

# The installable tarball (compiled dist/ inside): npm install -g --omit=dev ./moq-relay-<version>.tgz
pack:
	npm pack

# A signing key in .dev/keys/: `just key` (HS256 root.jwk); `just key es.jwk ES256` also writes es.pub.jwk, the half a relay needs.
key name="root.jwk" alg="HS256":
	mkdir -p {{keys}}
	{{moq_token}} --key {{keys}}/{{name}} generate --algorithm {{alg}} {{ if alg =~ "^HS" { "" } else { "--public " + keys / without_extension(name) + ".pub.jwk" } }}

# Sign a token with a key from .dev/keys/ (or a path): just token root.jwk anon "" "" +1h  (-1h: already expired)
token key="root.jwk" root="anon" publish="" subscribe="" expires="+1h":
	{{moq_token}} --key {{ if key =~ "/" { key } else { keys / key } }} sign --root "{{root}}" --publish "{{publish}}" --subscribe "{{subscribe}}" --expires {{expires}}

# Everything CI does, from a clean install.
ci:
	bash .ci/run
