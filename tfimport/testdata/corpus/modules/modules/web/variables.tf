variable "name" { type = string }
variable "vpc_id" { type = string }
variable "public_subnet_ids" { type = list(string) }
variable "private_subnet_ids" { type = list(string) }
variable "app_port" { type = number }
variable "listener_port" { type = number }
variable "instance_type" { type = string }
variable "capacity" { type = object({ min = number, max = number, desired = number }) }
variable "image" { type = string }
variable "environment" { type = map(string) }
variable "scale_out_steps" {
  type = list(object({ lower = number, upper = number, adjust = number }))
}
variable "sale_schedule" {
  type = list(object({ name = string, start = string, min = number, desired = optional(number) }))
}
variable "detailed_monitoring" {
  type    = bool
  default = true
}
variable "tags" { type = map(string) }
