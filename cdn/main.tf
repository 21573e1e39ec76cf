# One relay per region. Everything provider-specific is in ./linode: another provider is another
# module with the same inputs and outputs (ipv4, ipv6), and a new `source` here.
module "node" {
  source   = "./linode"
  for_each = var.regions

  name       = "relay-${each.key}"
  region     = each.value.region
  type       = var.node_type
  image      = var.image
  ssh_keys   = var.ssh_keys
  relay_port = var.relay_port
}

locals {
  port_suffix = var.relay_port == 443 ? "" : ":${var.relay_port}"
  # The URL each relay is dialed at by its peers; every node gets the same sorted list.
  node_urls = { for key in sort(keys(var.regions)) : key => "https://${key}.${var.domain}${local.port_suffix}" }
}

# Each node's relay.toml, rendered here and copied by `just deploy <node>` to /etc/moq-relay.
resource "local_file" "relay_toml" {
  for_each = var.regions

  filename        = "${path.module}/gen/${each.key}/relay.toml"
  file_permission = "0640"
  content = templatefile("${path.module}/relay.toml.tftpl", {
    port             = var.relay_port
    node             = local.node_urls[each.key]
    nodes            = values(local.node_urls)
    public_publish   = var.public_publish
    public_subscribe = var.public_subscribe
  })
}

# What the justfile needs to reach each node.
resource "local_file" "nodes" {
  filename = "${path.module}/gen/nodes.json"
  content = jsonencode({
    domain = var.domain
    email  = var.email
    nodes = { for key, node in module.node : key => {
      fqdn = "${key}.${var.domain}"
      url  = local.node_urls[key]
      ipv4 = node.ipv4
      ipv6 = node.ipv6
    } }
  })
}

output "nodes" {
  description = "Each relay's host name and addresses"
  value       = { for key, node in module.node : key => { fqdn = "${key}.${var.domain}", ipv4 = node.ipv4, ipv6 = node.ipv6 } }
}
