# Google Cloud DNS: the zone, one record per node, and geo-routed apex records that send each
# user to the relay of the nearest region. certbot on the nodes answers DNS-01 challenges in this
# zone with the service account below.
resource "google_project_service" "dns" {
  service            = "dns.googleapis.com"
  disable_on_destroy = false
}

resource "google_dns_managed_zone" "relay" {
  name     = "moq-relay"
  dns_name = "${var.domain}."
  dnssec_config {
    state = "on"
  }
  depends_on = [google_project_service.dns]
}

resource "google_dns_record_set" "node_a" {
  for_each     = module.node
  managed_zone = google_dns_managed_zone.relay.name
  name         = "${each.key}.${var.domain}."
  type         = "A"
  ttl          = 300
  rrdatas      = [each.value.ipv4]
}

resource "google_dns_record_set" "node_aaaa" {
  for_each     = module.node
  managed_zone = google_dns_managed_zone.relay.name
  name         = "${each.key}.${var.domain}."
  type         = "AAAA"
  ttl          = 300
  rrdatas      = [each.value.ipv6]
}

resource "google_dns_record_set" "apex_a" {
  managed_zone = google_dns_managed_zone.relay.name
  name         = "${var.domain}."
  type         = "A"
  ttl          = 60
  routing_policy {
    dynamic "geo" {
      for_each = var.regions
      content {
        location = geo.value.gcp_region
        rrdatas  = [module.node[geo.key].ipv4]
      }
    }
  }
}

resource "google_dns_record_set" "apex_aaaa" {
  managed_zone = google_dns_managed_zone.relay.name
  name         = "${var.domain}."
  type         = "AAAA"
  ttl          = 60
  routing_policy {
    dynamic "geo" {
      for_each = var.regions
      content {
        location = geo.value.gcp_region
        rrdatas  = [module.node[geo.key].ipv6]
      }
    }
  }
}

# certbot's DNS-01 credentials: a service account that may edit DNS records, its key written to
# secrets/ (gitignored) for `just deploy` to copy to each node.
resource "google_service_account" "certbot" {
  account_id   = "moq-relay-certbot"
  display_name = "moq-relay certbot DNS-01"
}

resource "google_project_iam_member" "certbot_dns" {
  project = var.gcp_project
  role    = "roles/dns.admin"
  member  = "serviceAccount:${google_service_account.certbot.email}"
}

resource "google_service_account_key" "certbot" {
  service_account_id = google_service_account.certbot.name
}

resource "local_sensitive_file" "certbot_credentials" {
  filename        = "${path.module}/secrets/gcp-dns.json"
  file_permission = "0600"
  content         = base64decode(google_service_account_key.certbot.private_key)
}
