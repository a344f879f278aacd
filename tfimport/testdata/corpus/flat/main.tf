# A shop's web tier in one file, as a small team writes it: a VPC with a public
# and a private subnet in each of three zones, one NAT gateway, an internet-facing
# ALB, a launch template that runs the shop's container, an Auto Scaling group
# with step scaling on CPU, and the scheduled scale-out before a known sale.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

variable "image" {
  description = "The shop's container image, pushed by CI (such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.42)."
  type        = string
}

resource "aws_vpc" "main" {
  cidr_block           = "10.20.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "shop" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "public_a" {
  vpc_id                  = aws_vpc.main.id
  availability_zone       = "us-east-1a"
  cidr_block              = "10.20.0.0/24"
  map_public_ip_on_launch = true
}

resource "aws_subnet" "public_b" {
  vpc_id                  = aws_vpc.main.id
  availability_zone       = "us-east-1b"
  cidr_block              = "10.20.1.0/24"
  map_public_ip_on_launch = true
}

resource "aws_subnet" "public_c" {
  vpc_id                  = aws_vpc.main.id
  availability_zone       = "us-east-1c"
  cidr_block              = "10.20.2.0/24"
  map_public_ip_on_launch = true
}

resource "aws_subnet" "private_a" {
  vpc_id            = aws_vpc.main.id
  availability_zone = "us-east-1a"
  cidr_block        = "10.20.10.0/24"
}

resource "aws_subnet" "private_b" {
  vpc_id            = aws_vpc.main.id
  availability_zone = "us-east-1b"
  cidr_block        = "10.20.11.0/24"
}

resource "aws_subnet" "private_c" {
  vpc_id            = aws_vpc.main.id
  availability_zone = "us-east-1c"
  cidr_block        = "10.20.12.0/24"
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

resource "aws_nat_gateway" "main" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public_a.id
}

resource "aws_security_group" "alb" {
  name   = "shop-alb"
  vpc_id = aws_vpc.main.id
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "app" {
  name   = "shop-app"
  vpc_id = aws_vpc.main.id
  ingress {
    from_port       = 8080
    to_port         = 8080
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }
}

resource "aws_lb" "shop" {
  name               = "shop"
  load_balancer_type = "application"
  security_groups    = [aws_security_group.alb.id]
  subnets            = [aws_subnet.public_a.id, aws_subnet.public_b.id, aws_subnet.public_c.id]
  idle_timeout       = 60
  access_logs {
    bucket  = "shop-alb-logs"
    enabled = true
  }
}

resource "aws_lb_target_group" "shop" {
  name                 = "shop"
  port                 = 8080
  protocol             = "HTTP"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 300
  health_check {
    path                = "/health"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 5
    unhealthy_threshold = 2
    matcher             = "200"
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.shop.arn
  port              = 8080
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.shop.arn
  }
}

data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]
  filter {
    name   = "name"
    values = ["al2023-ami-*-x86_64"]
  }
}

resource "aws_launch_template" "shop" {
  name_prefix            = "shop-"
  image_id               = data.aws_ami.al2023.id
  instance_type          = "t3.micro"
  vpc_security_group_ids = [aws_security_group.app.id]
  monitoring {
    enabled = true
  }
  user_data = base64encode(<<-EOT
    #!/bin/bash
    dnf install -y docker
    systemctl enable --now docker
    docker run -d --restart always -p 8080:8080 \
      -e SIMPLYDONE_CPU_COST=2ms \
      ${var.image}
  EOT
  )
}

resource "aws_autoscaling_group" "shop" {
  name                      = "shop"
  min_size                  = 1
  max_size                  = 6
  desired_capacity          = 2
  vpc_zone_identifier       = [aws_subnet.private_a.id, aws_subnet.private_b.id, aws_subnet.private_c.id]
  target_group_arns         = [aws_lb_target_group.shop.arn]
  health_check_type         = "ELB"
  health_check_grace_period = 300
  default_instance_warmup   = 60

  launch_template {
    id      = aws_launch_template.shop.id
    version = "$Latest"
  }

  initial_lifecycle_hook {
    name                 = "wait-for-app"
    lifecycle_transition = "autoscaling:EC2_INSTANCE_LAUNCHING"
    heartbeat_timeout    = 45
    default_result       = "CONTINUE"
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 90
    }
  }

  tag {
    key                 = "Name"
    value               = "shop"
    propagate_at_launch = true
  }
}

resource "aws_autoscaling_policy" "cpu_high" {
  name                   = "cpu-high"
  autoscaling_group_name = aws_autoscaling_group.shop.name
  policy_type            = "StepScaling"
  adjustment_type        = "ChangeInCapacity"
  step_adjustment {
    metric_interval_lower_bound = 0
    scaling_adjustment          = 1
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  alarm_name          = "shop-cpu-high"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 80
  period              = 60
  evaluation_periods  = 1
  dimensions          = { AutoScalingGroupName = aws_autoscaling_group.shop.name }
  alarm_actions       = [aws_autoscaling_policy.cpu_high.arn]
}

resource "aws_autoscaling_policy" "cpu_low" {
  name                   = "cpu-low"
  autoscaling_group_name = aws_autoscaling_group.shop.name
  policy_type            = "StepScaling"
  adjustment_type        = "ChangeInCapacity"
  step_adjustment {
    metric_interval_upper_bound = 0
    scaling_adjustment          = -1
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu_low" {
  alarm_name          = "shop-cpu-low"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  comparison_operator = "LessThanThreshold"
  threshold           = 10
  period              = 60
  evaluation_periods  = 2
  dimensions          = { AutoScalingGroupName = aws_autoscaling_group.shop.name }
  alarm_actions       = [aws_autoscaling_policy.cpu_low.arn]
}

# The sale starts at 08:05 UTC on Black Friday: two instances per zone from 08:01.
resource "aws_autoscaling_schedule" "before_sale" {
  scheduled_action_name  = "before-the-peak"
  autoscaling_group_name = aws_autoscaling_group.shop.name
  start_time             = "2026-11-27T08:01:00Z"
  min_size               = 6
  desired_capacity       = 6
}

resource "aws_autoscaling_schedule" "after_sale" {
  scheduled_action_name  = "after-the-peak"
  autoscaling_group_name = aws_autoscaling_group.shop.name
  start_time             = "2026-11-27T08:17:00Z"
  min_size               = 1
}

resource "aws_sns_topic" "oncall" {
  name = "shop-oncall"
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "shop-5xx"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 10
  period              = 60
  evaluation_periods  = 3
  dimensions          = { LoadBalancer = aws_lb.shop.arn_suffix }
  alarm_actions       = [aws_sns_topic.oncall.arn]
}

resource "aws_wafv2_web_acl_association" "shop" {
  resource_arn = aws_lb.shop.arn
  web_acl_arn  = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/0000"
}

output "url" {
  value = "http://${aws_lb.shop.dns_name}:8080"
}
