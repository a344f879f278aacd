resource "aws_autoscaling_policy" "scale_out" {
  name                   = "cpu-high"
  autoscaling_group_name = aws_autoscaling_group.app.name
  policy_type            = "StepScaling"
  adjustment_type        = "ChangeInCapacity"
  dynamic "step_adjustment" {
    for_each = var.scale_out_steps
    content {
      metric_interval_lower_bound = step_adjustment.value.lower
      metric_interval_upper_bound = step_adjustment.value.upper
      scaling_adjustment          = step_adjustment.value.adjust
    }
  }
}

resource "aws_autoscaling_policy" "scale_in" {
  name                   = "cpu-low"
  autoscaling_group_name = aws_autoscaling_group.app.name
  policy_type            = "StepScaling"
  adjustment_type        = "ChangeInCapacity"
  step_adjustment {
    metric_interval_upper_bound = 0
    scaling_adjustment          = -1
  }
}

locals {
  alarms = {
    high = { policy = aws_autoscaling_policy.scale_out.arn, op = "GreaterThanThreshold", threshold = 80, periods = 1 }
    low  = { policy = aws_autoscaling_policy.scale_in.arn, op = "LessThanThreshold", threshold = 10, periods = 2 }
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-cpu-${each.key}"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  comparison_operator = each.value.op
  threshold           = each.value.threshold
  period              = 60
  evaluation_periods  = each.value.periods
  treat_missing_data  = "missing"
  dimensions          = { AutoScalingGroupName = aws_autoscaling_group.app.name }
  alarm_actions       = [each.value.policy]
}

resource "aws_autoscaling_schedule" "sale" {
  count                  = length(var.sale_schedule)
  scheduled_action_name  = var.sale_schedule[count.index].name
  autoscaling_group_name = aws_autoscaling_group.app.name
  start_time             = var.sale_schedule[count.index].start
  min_size               = var.sale_schedule[count.index].min
  desired_capacity       = var.sale_schedule[count.index].desired != null ? var.sale_schedule[count.index].desired : -1
}

output "url" { value = "http://${aws_lb.this.dns_name}:${var.listener_port}" }
