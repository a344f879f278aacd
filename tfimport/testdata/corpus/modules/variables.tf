variable "region" {
  type    = string
  default = "us-east-1"
}

variable "name" {
  type    = string
  default = "shop"
}

variable "environment" {
  type = string
  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment is staging or prod."
  }
}

variable "zone_count" {
  type    = number
  default = 3
}

variable "vpc_cidr" {
  type    = string
  default = "10.30.0.0/16"
}

variable "app_port" {
  type    = number
  default = 8080
}

variable "listener_port" {
  type    = number
  default = 80
}

variable "instance_type" {
  type    = string
  default = "t3.micro"
}

variable "capacity" {
  type = map(object({ min = number, max = number, desired = number }))
  default = {
    staging = { min = 1, max = 2, desired = 1 }
    prod    = { min = 1, max = 6, desired = 2 }
  }
}

variable "image" {
  type    = string
  default = "simplydone:latest"
}

variable "sale_schedule" {
  type = list(object({ name = string, start = string, min = number, desired = optional(number) }))
  default = []
}

variable "tags" {
  type    = map(string)
  default = { Team = "checkout" }
}
