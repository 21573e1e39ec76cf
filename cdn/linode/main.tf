# One relay on Linode: the instance and a firewall that lets in the relay port (UDP for QUIC and
# WebTransport, TCP for HTTPS and WebSocket), SSH and ICMP. Same inputs and outputs for any provider.
terraform {
  required_providers {
    linode = {
      source = "linode/linode"
    }
  }
}

variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "type" {
  type = string
}

variable "image" {
  type = string
}

variable "ssh_keys" {
  type = list(string)
}

variable "relay_port" {
  type = number
}

resource "linode_instance" "relay" {
  label           = var.name
  region          = var.region
  type            = var.type
  image           = var.image
  authorized_keys = var.ssh_keys
  tags            = ["moq-relay"]
}

resource "linode_firewall" "relay" {
  label           = "${var.name}-fw"
  inbound_policy  = "DROP"
  outbound_policy = "ACCEPT"
  linodes         = [linode_instance.relay.id]

  inbound {
    label    = "relay-udp"
    action   = "ACCEPT"
    protocol = "UDP"
    ports    = tostring(var.relay_port)
    ipv4     = ["0.0.0.0/0"]
    ipv6     = ["::/0"]
  }

  inbound {
    label    = "relay-tcp"
    action   = "ACCEPT"
    protocol = "TCP"
    ports    = tostring(var.relay_port)
    ipv4     = ["0.0.0.0/0"]
    ipv6     = ["::/0"]
  }

  inbound {
    label    = "ssh"
    action   = "ACCEPT"
    protocol = "TCP"
    ports    = "22"
    ipv4     = ["0.0.0.0/0"]
    ipv6     = ["::/0"]
  }

  inbound {
    label    = "icmp"
    action   = "ACCEPT"
    protocol = "ICMP"
    ipv4     = ["0.0.0.0/0"]
    ipv6     = ["::/0"]
  }
}

output "ipv4" {
  value = linode_instance.relay.ip_address
}

output "ipv6" {
  value = split("/", linode_instance.relay.ipv6)[0]
}
