package export

import (
	"fmt"
	"strings"

	"github.com/simplydone/lab/stack"
)

// tfReadme is the module's README: provenance, how to apply, the inputs,
// the outputs, and what was left out.
func tfReadme(s *stack.Stack, o Options) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# %s: Terraform module", s.Name)
	p("")
	for _, l := range header(s, o, "terraform") {
		p("%s", l)
	}
	p("")
	p("An Application Load Balancer in front of an EC2 Auto Scaling group across %s, as rehearsed by `lab`.", strings.Join(s.Zones, ", "))
	p("Written for Terraform >= 1.5 and the AWS provider %s.", ProviderVersion)
	p("")
	p("```sh")
	p("terraform init")
	var vars []string
	for _, sv := range tfServices(s) {
		vars = append(vars, "-var "+sv.image()+"=REGISTRY/IMAGE:TAG")
	}
	p("terraform apply %s", strings.Join(vars, " "))
	p("```")
	p("")
	p("## Files")
	p("")
	p("| file | what |")
	p("|---|---|")
	p("| `network.tf` | VPC, a public and a private subnet per zone, internet gateway, NAT gateway(s), route tables |")
	p("| `load_balancer.tf` | the ALB's security group, the ALB, the target group with its health check, the listener |")
	p("| `compute.tf` | the instances' security group, the AMI lookup, the launch template, the Auto Scaling group |")
	p("| `scaling.tf` | the scaling policies and the CloudWatch alarms of the simple and step policies |")
	for _, sv := range tfServices(s) {
		p("| `%s` | the boot script%s: installs Docker, runs `var.%s` |", sv.file(), svcNote(sv), sv.image())
	}
	p("| `variables.tf`, `outputs.tf`, `versions.tf` | inputs, outputs, provider |")
	p("")
	p("## Inputs")
	p("")
	p("| name | default | meaning |")
	p("|---|---|---|")
	for _, sv := range tfServices(s) {
		p("| `%s` | (required) | %s |", sv.image(), imageDescription(sv.st))
	}
	p("| `region` | `%s` | the region of the stack's zones |", Region(s))
	p("| `vpc_cidr` | `%s` | the VPC's /16 |", VPCCIDR)
	p("")
	p("## Outputs")
	p("")
	p("| name | meaning |")
	p("|---|---|")
	p("| `alb_dns_name` | the ALB's DNS name; the listener is on port %d |", s.LoadBalancer.ListenerPort)
	if s.MultiService() {
		p("| `asg_names` | each service's Auto Scaling group's name |")
	} else {
		p("| `asg_name` | the Auto Scaling group's name |")
	}
	p("")
	p("## Left out")
	p("")
	for _, l := range labOnly(s, "`var.image`") {
		p("- %s", l)
	}
	p("- The NAT layout is an export option (`--single-nat`), not a stack field.")
	p("- The instances have no instance profile: an ECR image needs one with `AmazonEC2ContainerRegistryReadOnly`.")
	p("")
	p("The field-by-field mapping from the stack is in the lab's `export/README.md`.")
	return []byte(b.String())
}
