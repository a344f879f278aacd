// Package export writes a rehearsed stack for AWS: a Terraform module
// (Terraform) or a CloudFormation template (CloudFormation), both from the
// stack model and nothing else: a VPC with a public and a private subnet per
// zone, NAT, the ALB and its target group, a launch template that runs the
// stack's container image, the Auto Scaling group, its scaling policies and
// their alarms. Check reports, by stack field, what AWS would refuse; see
// README.md for the field-by-field mapping.
package export
