// Package tfimport reads an existing Terraform configuration (or a
// CloudFormation template) and writes the lab's stack from it: the inverse
// of package export. It evaluates the configuration offline as Terraform
// does, far enough for real configurations (variables, tfvars, locals,
// references between resources in dependency order, count and for_each,
// dynamic blocks, the common functions, local modules), then maps the
// ALB, target group, launch template, Auto Scaling group, scaling
// policies, alarms, schedules and hooks onto stack fields.
//
// Nothing is dropped silently: every resource and attribute the rehearsal
// does not model is a Note with its file:line and why, every stack field
// records where its value came from (Provenance, and a comment per field in
// the written YAML), and a value the lab models but cannot map exactly is a
// warning with the value the stack takes instead.
package tfimport
