variable "linode_token" {
  description = "Linode API token (Linodes, Firewalls: read/write)"
  type        = string
  sensitive   = true
}

variable "gcp_project" {
  description = "Google Cloud project that hosts the DNS zone"
  type        = string
}

variable "domain" {
  description = "Domain the relays serve, e.g. cdn.example.com: the apex is geo-routed, each node is <key>.<domain>"
  type        = string
}

variable "email" {
  description = "Contact address for Let's Encrypt (expiry notices)"
  type        = string
}

variable "ssh_keys" {
  description = "SSH public keys allowed to log in as root on every node"
  type        = list(string)
}

variable "regions" {
  description = "One relay per entry: node key => provider region and the Google Cloud region whose users it serves"
  type = map(object({
    region     = string
    gcp_region = string
  }))
  default = {
    usc = { region = "us-central", gcp_region = "us-central1" }
    euc = { region = "eu-central", gcp_region = "europe-west3" }
    sea = { region = "ap-south", gcp_region = "asia-southeast1" }
  }
}

variable "node_type" {
  description = "Instance type of every relay"
  type        = string
  default     = "g6-standard-2"
}

variable "image" {
  description = "Operating system image (the unit targets Debian 12's systemd 252)"
  type        = string
  default     = "linode/debian12"
}

variable "relay_port" {
  description = "UDP (QUIC, WebTransport) and TCP (HTTPS, WebSocket) port of every relay"
  type        = number
  default     = 443
}

variable "public_publish" {
  description = "Path prefixes anyone may publish to without a token"
  type        = list(string)
  default     = ["anon"]
}

variable "public_subscribe" {
  description = "Path prefixes anyone may watch without a token"
  type        = list(string)
  default     = ["anon", "demo"]
}
