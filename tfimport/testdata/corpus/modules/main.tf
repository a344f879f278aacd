# The same tier as a team with several environments writes it: the root wires
# two local modules, the network and the web tier, with variables and a
# terraform.tfvars per environment.

provider "aws" {
  region = var.region
}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  zones = slice(data.aws_availability_zones.available.names, 0, var.zone_count)
  tags  = merge(var.tags, { Environment = var.environment, Service = var.name })
}

module "network" {
  source   = "./modules/network"
  name     = var.name
  vpc_cidr = var.vpc_cidr
  zones    = local.zones
  tags     = local.tags
}

module "web" {
  source             = "./modules/web"
  name               = "${var.name}-${var.environment}"
  vpc_id             = module.network.vpc_id
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
  app_port           = var.app_port
  listener_port      = var.listener_port
  instance_type      = var.instance_type
  capacity           = var.capacity[var.environment]
  image              = var.image
  environment        = { SIMPLYDONE_CPU_COST = "2ms" }
  scale_out_steps    = [{ lower = 0, upper = null, adjust = 1 }]
  sale_schedule      = var.sale_schedule
  tags               = local.tags
}

output "url" {
  value = module.web.url
}
