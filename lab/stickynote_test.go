package lab

import (
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

func TestAppCookieNote(t *testing.T) {
	s := &stack.Stack{}
	s.LaunchTemplate.Command = []string{BuiltinCommand}
	s.TargetGroup.Stickiness = stack.Stickiness{Enabled: true, Type: stack.StickinessAppCookie, CookieName: "SESSION"}
	if n := appCookieNote(s); !strings.Contains(n, "SimplyDone sets no cookie") || !strings.Contains(n, `"SESSION"`) {
		t.Errorf("SimplyDone with app_cookie: note %q", n)
	}
	s.TargetGroup.Stickiness.Type = stack.StickinessLBCookie
	if n := appCookieNote(s); n != "" {
		t.Errorf("lb_cookie: note %q, want none", n)
	}
	s.TargetGroup.Stickiness.Type = stack.StickinessAppCookie
	s.LaunchTemplate.Command = []string{"./myapp"}
	if n := appCookieNote(s); n != "" {
		t.Errorf("another application: note %q, want none", n)
	}
}
