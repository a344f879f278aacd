package stack

import "testing"

// routing.http.desync_mitigation_mode defaults to defensive and
// routing.http.drop_invalid_header_fields.enabled to false, as on AWS
// (ALB user guide, "Load balancer attributes"); a stack can set both.
func TestLoadBalancerDesyncAttributes(t *testing.T) {
	s, err := Parse("s.yaml", []byte(head+group))
	if err != nil {
		t.Fatal(err)
	}
	if s.LoadBalancer.DesyncMitigationMode != "defensive" || s.LoadBalancer.DropInvalidHeaderFields {
		t.Fatalf("defaults %q %v, want defensive false", s.LoadBalancer.DesyncMitigationMode, s.LoadBalancer.DropInvalidHeaderFields)
	}
	s, err = Parse("s.yaml", []byte(head+group+"load_balancer: {desync_mitigation_mode: strictest, drop_invalid_header_fields: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.LoadBalancer.DesyncMitigationMode != "strictest" || !s.LoadBalancer.DropInvalidHeaderFields {
		t.Fatalf("got %q %v, want strictest true", s.LoadBalancer.DesyncMitigationMode, s.LoadBalancer.DropInvalidHeaderFields)
	}
}
