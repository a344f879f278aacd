package lab

import (
	"fmt"

	"github.com/simplydone/lab/stack"
)

// appCookieNote is the line the lab says when a stack's app_cookie
// stickiness can never take effect: SimplyDone sets no cookie of its own,
// and the load balancer adds AWSALBAPP only once the application has set
// its cookie (sticky-sessions.html, application-based cookies). Empty when
// there is nothing to say.
func appCookieNote(s *stack.Stack) string {
	st := s.TargetGroup.Stickiness
	cmd := s.LaunchTemplate.Command
	if !st.Enabled || st.Type != stack.StickinessAppCookie || len(cmd) == 0 || cmd[0] != BuiltinCommand {
		return ""
	}
	return fmt.Sprintf("Note: target_group.stickiness is app_cookie with cookie %q, but SimplyDone sets no cookie, so the load balancer never adds AWSALBAPP and requests are not sticky; use type lb_cookie", st.CookieName)
}
