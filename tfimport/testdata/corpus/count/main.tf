# The tier with count-based subnets across three zones, target tracking instead
# of step scaling, a path rule on the listener, sticky sessions and a database:
# the parts the lab does not rehearse yet are listed, not dropped.

provider "aws" {
  region = var.region
}

variable "region" {
  default = "us-east-1"
}

variable "azs" {
  type    = list(string)
  default = ["us-east-1a", "us-east-1b", "us-east-1c"]
}

variable "vpc_cidr" {
  default = "10.40.0.0/16"
}

variable "env" {
  default = "prod"
}

module "labels" {
  source  = "cloudposse/label/null"
  version = "0.25.0"
  name    = "shop"
}

locals {
  is_prod = var.env == "prod"
  name    = "shop-${var.env}"
}

resource "aws_vpc" "this" {
  cidr_block = var.vpc_cidr
  tags       = module.labels.tags
}

resource "aws_subnet" "public" {
  count                   = length(var.azs)
  vpc_id                  = aws_vpc.this.id
  availability_zone       = element(var.azs, count.index)
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, count.index)
  map_public_ip_on_launch = true
}

resource "aws_subnet" "private" {
  count             = length(var.azs)
  vpc_id            = aws_vpc.this.id
  availability_zone = var.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, count.index + 10)
}

resource "aws_alb" "this" {
  name    = local.name
  subnets = aws_subnet.public[*].id
}

resource "aws_alb_target_group" "app" {
  name                          = local.name
  port                          = 8080
  protocol                      = "HTTP"
  vpc_id                        = aws_vpc.this.id
  load_balancing_algorithm_type = "least_outstanding_requests"
  deregistration_delay          = "60"
  stickiness {
    type            = "lb_cookie"
    cookie_duration = 3600
    enabled         = true
  }
  health_check {
    path     = "/health"
    interval = 10
    matcher  = "200-299"
  }
}

resource "aws_alb_target_group" "admin" {
  name     = "${local.name}-admin"
  port     = 9090
  protocol = "HTTP"
  vpc_id   = aws_vpc.this.id
}

resource "aws_alb_listener" "http" {
  load_balancer_arn = aws_alb.this.arn
  port              = 8080
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_alb_target_group.app.arn
  }
}

resource "aws_lb_listener_rule" "admin" {
  listener_arn = aws_alb_listener.http.arn
  priority     = 10
  action {
    type             = "forward"
    target_group_arn = aws_alb_target_group.admin.arn
  }
  condition {
    path_pattern {
      values = ["/admin/*"]
    }
  }
}

data "aws_ami" "ubuntu" {
  most_recent = true
  owners      = ["099720109477"]
}

resource "aws_launch_template" "app" {
  name          = local.name
  image_id      = data.aws_ami.ubuntu.id
  instance_type = local.is_prod ? "c5.large" : "t3.small"
  user_data = base64encode(join("\n", [
    "#!/bin/bash",
    "apt-get install -y nginx",
    "systemctl start nginx",
  ]))
}

resource "aws_autoscaling_group" "app" {
  name                = local.name
  min_size            = local.is_prod ? 3 : 1
  max_size            = local.is_prod ? 9 : 2
  vpc_zone_identifier = aws_subnet.private[*].id
  target_group_arns   = [aws_alb_target_group.app.arn]
  health_check_type   = "ELB"
  termination_policies = ["OldestLaunchTemplate", "Default"]
  launch_template {
    name    = aws_launch_template.app.name
    version = "$Latest"
  }
  warm_pool {
    pool_state = "Stopped"
    min_size   = 1
    instance_reuse_policy {
      reuse_on_scale_in = true
    }
  }
  instance_maintenance_policy {
    min_healthy_percentage = 90
    max_healthy_percentage = 120
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                      = "cpu-50"
  autoscaling_group_name    = aws_autoscaling_group.app.name
  policy_type               = "TargetTrackingScaling"
  estimated_instance_warmup = 120
  target_tracking_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
    target_value = 50
  }
}

resource "aws_autoscaling_lifecycle_hook" "drain" {
  name                   = "drain"
  autoscaling_group_name = aws_autoscaling_group.app.name
  lifecycle_transition   = "autoscaling:EC2_INSTANCE_TERMINATING"
  heartbeat_timeout      = 60
  default_result         = "CONTINUE"
}

resource "aws_db_subnet_group" "db" {
  name       = local.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_instance" "orders" {
  identifier           = "${local.name}-orders"
  engine               = "postgres"
  instance_class       = "db.t4g.micro"
  allocated_storage    = 20
  multi_az             = local.is_prod
  db_subnet_group_name = aws_db_subnet_group.db.name
  password             = var.db_password
  skip_final_snapshot  = true
}

resource "aws_db_instance" "orders_read" {
  replicate_source_db = aws_db_instance.orders.identifier
  instance_class      = "db.t4g.micro"
  availability_zone   = var.azs[2]
  skip_final_snapshot = true
}

resource "aws_db_instance" "analytics" {
  engine            = "mysql"
  instance_class    = "db.t4g.micro"
  allocated_storage = 20
}

variable "db_password" {
  type      = string
  sensitive = true
  default   = "not-a-real-one"
}
