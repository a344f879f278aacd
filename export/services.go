package export

import (
	"errors"
	"fmt"
	"strings"

	"github.com/simplydone/lab/stack"
)

// Several services (stack services:) in Terraform: one aws_lb_target_group,
// aws_launch_template and aws_autoscaling_group per service, named after
// it, with its policies, alarms and schedules; forwards name the services'
// target groups. A one-service stack is written exactly as before, its
// resources named "this". In CloudFormation the same, logical ids ending
// in the service's name (cfnSvc).

// tfSvc is one service as the Terraform writers see it.
type tfSvc struct {
	st     *stack.Stack // the stack as the service sees it (stack.ServiceStack)
	id     string       // its resources' name: "this" on a one-service stack
	prefix string       // its fields' path: "services[N]." on a stack with services
	multi  bool
}

// f is a field of the service, as the stack file names it.
func (sv tfSvc) f(field string) string { return sv.prefix + field }

// res names one of the service's resources of a kind whose one-service
// name is base ("instance_from_alb" becomes "instance_from_alb_api").
func (sv tfSvc) res(base string) string {
	if !sv.multi {
		return base
	}
	return base + "_" + sv.id
}

// file is the service's user data template file name.
func (sv tfSvc) file() string {
	if !sv.multi {
		return "user_data.sh.tftpl"
	}
	return "user_data_" + sv.id + ".sh.tftpl"
}

// image is the service's image input.
func (sv tfSvc) image() string {
	if !sv.multi {
		return "image"
	}
	return "image_" + sv.id
}

// tfServices are the stack's services for the Terraform writers.
func tfServices(s *stack.Stack) []tfSvc {
	if !s.MultiService() {
		return []tfSvc{{st: s, id: "this"}}
	}
	ids := idents(s.TargetGroupNames(), false)
	out := make([]tfSvc, len(s.Services))
	for i := range s.Services {
		out[i] = tfSvc{st: s.ServiceStack(i), id: ids[i], prefix: fmt.Sprintf("services[%d].", i), multi: true}
	}
	return out
}

// tgRefs maps each target group's name to its Terraform reference.
func tgRefs(s *stack.Stack) map[string]string {
	m := map[string]string{}
	for _, sv := range tfServices(s) {
		m[sv.st.Name] = "aws_lb_target_group." + sv.id + ".arn"
	}
	return m
}

// svcNote names the service in a line about one of its files.
func svcNote(sv tfSvc) string {
	if !sv.multi {
		return ""
	}
	return " of service " + sv.st.Name
}

// serviceFields are the top-level sections a service has of its own.
var serviceFields = []string{"target_group", "launch_template", "auto_scaling_group", "scaling_policies", "scheduled_actions"}

// checkServices checks each service as a one-service stack, its problems
// put under services[N]; what is not the service's own (name, zones, the
// database) the stack's own check reports.
func checkServices(s *stack.Stack, f Format) []stack.Error {
	var out []stack.Error
	for i := range s.Services {
		err := Check(s.ServiceStack(i), f)
		var se *stack.Errors
		if !errors.As(err, &se) {
			continue
		}
		for _, e := range se.List {
			for _, sf := range serviceFields {
				if e.Field == sf || strings.HasPrefix(e.Field, sf+".") || strings.HasPrefix(e.Field, sf+"[") {
					e.Field = fmt.Sprintf("services[%d].%s", i, e.Field)
					out = append(out, e)
					break
				}
			}
		}
	}
	return out
}

// cfnSvc is one service as the CloudFormation writers see it: its logical
// ids are the one-service ids with the service's name after them
// (TargetGroupListing); a one-service stack keeps them as they were.
type cfnSvc struct {
	st     *stack.Stack
	sfx    string // after each logical id: "" on a one-service stack
	prefix string // its fields' path: "services[N]."
	multi  bool
}

func (sv cfnSvc) id(base string) string { return base + sv.sfx }
func (sv cfnSvc) f(field string) string { return sv.prefix + field }

// cfnServices are the stack's services for the CloudFormation writers.
func cfnServices(s *stack.Stack) []cfnSvc {
	if !s.MultiService() {
		return []cfnSvc{{st: s}}
	}
	ids := idents(s.TargetGroupNames(), true)
	out := make([]cfnSvc, len(s.Services))
	for i := range s.Services {
		out[i] = cfnSvc{st: s.ServiceStack(i), sfx: ids[i], prefix: fmt.Sprintf("services[%d].", i), multi: true}
	}
	return out
}

// cfnTGRefs maps each target group's name to its logical id.
func cfnTGRefs(s *stack.Stack) map[string]string {
	m := map[string]string{}
	for _, sv := range cfnServices(s) {
		m[sv.st.Name] = sv.id("TargetGroup")
	}
	return m
}
