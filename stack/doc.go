// Package stack is the one model of a lab's web tier: zones, the load
// balancer and its target group, the launch template, the Auto Scaling group
// and its scaling policies, in AWS's terms and with AWS's defaults.
//
// Parse reads a stack file (YAML, snake_case keys as in the AWS API and
// Terraform), fills in every AWS default for what is omitted, and validates
// the result against AWS's ranges, reporting every problem at once as
// FILE:LINE:COL errors. Built-in stacks are embedded under builtin/.
package stack
