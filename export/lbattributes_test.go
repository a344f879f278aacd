package export

import (
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

// The desync mitigation mode and drop_invalid_header_fields reach both
// exports when they differ from AWS's defaults (aws_lb's
// desync_mitigation_mode and drop_invalid_header_fields; the
// LoadBalancerAttributes routing.http.desync_mitigation_mode and
// routing.http.drop_invalid_header_fields.enabled), and the CloudFormation
// template still passes the resource spec.
func TestExportDesyncAttributes(t *testing.T) {
	s, err := stack.Builtin("simplydone")
	if err != nil {
		t.Fatal(err)
	}
	s.LoadBalancer.DesyncMitigationMode, s.LoadBalancer.DropInvalidHeaderFields = "strictest", true
	tf, err := Terraform(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, b := range tf {
		all.Write(b)
	}
	for _, want := range []string{`desync_mitigation_mode = "strictest"`, `drop_invalid_header_fields = true`} {
		if !strings.Contains(strings.Join(strings.Fields(all.String()), " "), want) {
			t.Errorf("terraform lacks %s", want)
		}
	}
	cfn, err := CloudFormation(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"routing.http.desync_mitigation_mode", "strictest", "routing.http.drop_invalid_header_fields.enabled"} {
		if !strings.Contains(string(cfn), want) {
			t.Errorf("cloudformation lacks %s", want)
		}
	}
	for _, p := range checkTemplate(t, readSpec(t), cfn) {
		t.Error(p)
	}
}
