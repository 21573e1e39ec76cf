terraform {
  required_version = ">= 1.6"
  required_providers {
    linode = {
      source  = "linode/linode"
      version = "~> 3.0"
    }
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    local = {
      source  = "hashicorp/local"
      version = "~> 2.5"
    }
  }
}

provider "linode" {
  token = var.linode_token
}

# Credentials from `gcloud auth application-default login` or GOOGLE_APPLICATION_CREDENTIALS.
provider "google" {
  project = var.gcp_project
}
