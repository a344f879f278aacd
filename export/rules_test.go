package export

import (
	"fmt"
	"gopkg.in/yaml.v3"
	"path/filepath"
	"strings"
	"testing"
)

// The listener-rules stack's load balancer file and template, byte for byte.
func TestGoldenListenerRules(t *testing.T) {
	s := load(t, filepath.Join("testdata", "stacks", "listener-rules.yaml"))
	files, err := Terraform(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("listener-rules", "load_balancer.tf"), files["load_balancer.tf"])
	tmpl, err := CloudFormation(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("listener-rules", "cloudformation.yaml"), tmpl)
}

// An app_cookie stickiness exports its cookie name in both formats.
func TestAppCookieStickiness(t *testing.T) {
	s := load(t, filepath.Join("testdata", "stacks", "listener-rules.yaml"))
	s.TargetGroup.Stickiness.Type, s.TargetGroup.Stickiness.CookieName = "app_cookie", "SID"
	files, err := Terraform(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(files["load_balancer.tf"]), `type            = "app_cookie"`, `cookie_name     = "SID"`)
	tmpl, err := CloudFormation(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(tmpl), "stickiness.app_cookie.cookie_name", "stickiness.app_cookie.duration_seconds")
}

func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

// The exported rules read back as the stack's: each aws_lb_listener_rule
// and ListenerRule has the rule's priority, action type and every
// condition's values; the stickiness block its type and duration.
func TestListenerRulesRoundTrip(t *testing.T) {
	s := load(t, filepath.Join("testdata", "stacks", "listener-rules.yaml"))
	files, err := Terraform(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := tfModule(parseModule(t, files))
	tg := m.block(t, "resource", "aws_lb_target_group", "this")
	eq(t, "stickiness", val(t, tg, "stickiness", "type").AsString()+" "+fmt.Sprint(f64(val(t, tg, "stickiness", "cookie_duration"))), "lb_cookie 3600")
	data, err := CloudFormation(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Properties struct {
				Priority   int              `yaml:"Priority"`
				Actions    []map[string]any `yaml:"Actions"`
				Conditions []map[string]any `yaml:"Conditions"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.LoadBalancer.Rules {
		b := m.block(t, "resource", "aws_lb_listener_rule", fmt.Sprintf("priority_%d", r.Priority))
		eq(t, "priority", f64(val(t, b, "priority")), float64(r.Priority))
		eq(t, "action", val(t, b, "action", "type").AsString(), r.Action.Type)
		cf := tmpl.Resources[fmt.Sprintf("ListenerRule%d", r.Priority)].Properties
		eq(t, "CloudFormation priority", cf.Priority, r.Priority)
		eq(t, "CloudFormation action", cf.Actions[0]["Type"], r.Action.Type)
		conds := nested(b, "condition")
		if len(conds) != len(r.Conditions) || len(cf.Conditions) != len(r.Conditions) {
			t.Fatalf("rule %d: %d and %d conditions, the stack has %d", r.Priority, len(conds), len(cf.Conditions), len(r.Conditions))
		}
		for i, c := range r.Conditions {
			eq(t, "CloudFormation field", cf.Conditions[i]["Field"], c.Field)
			inner := conds[i].Blocks[0]
			eq(t, "condition block", inner.Type, strings.ReplaceAll(c.Field, "-", "_"))
			switch c.Field {
			case "query-string":
				var got []string
				for _, q := range nested(conds[i], "query_string") {
					got = append(got, val(t, q, "value").AsString())
				}
				var want []string
				for _, p := range c.QueryStrings {
					want = append(want, p.Value)
				}
				eq(t, "query values", got, want)
			default:
				eq(t, c.Field+" values", strs(val(t, inner.Body, "values")), c.Values)
			}
		}
	}
}
