# Developer and operator recipes. `just --list` shows them all.

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

# Generate a signing key (HS256 by default) for tokens.
key path="root.jwk" alg="HS256":
	node bin/moq-token.js --key {{path}} generate --algorithm {{alg}}

# Sign a token: just token root.jwk anon "" "" +1h
token key root publish subscribe expires="+1h":
	node bin/moq-token.js --key {{key}} sign --root "{{root}}" --publish "{{publish}}" --subscribe "{{subscribe}}" --expires {{expires}}

# Everything CI does, from a clean install.
ci:
	bash .ci/run
