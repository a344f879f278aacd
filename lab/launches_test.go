package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
)

func failedLaunch(at time.Time, reason string) events.Envelope {
	return events.Envelope{Wall: at, Event: asg.ScalingActivity{Action: "Launch", Status: asg.ActivityFailed, StatusMessage: reason,
		Description: "Launching a new EC2 instance: i-1. Status Reason: " + reason + ". Launching EC2 instance failed"}}
}

func TestLaunchWatchStopsOnlyAGroupThatNeverLaunched(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	var le *LaunchError
	t.Run("three failures, nothing alive", func(t *testing.T) {
		var w launchWatch
		w.handle(events.Envelope{Wall: t0, Event: asg.ScalingActivity{Action: "Launch"}}) // a launch that went fine
		for i, r := range []string{"exit 1", "exit 1", "exit 2: bind: address already in use"} {
			if err := w.stuck(t0, 0); err != nil {
				t.Fatalf("stuck after %d failure(s): %v", i, err)
			}
			w.handle(failedLaunch(t0.Add(time.Duration(i)*time.Second), r))
		}
		err := w.stuck(t0.Add(3*time.Second), 0)
		if !errors.As(err, &le) || le.Failed != 3 || le.Reason != "exit 2: bind: address already in use" ||
			!strings.Contains(err.Error(), "could not launch any instance") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("one failure, nothing alive, the window passes", func(t *testing.T) {
		var w launchWatch
		w.handle(failedLaunch(t0, "exit 1"))
		if err := w.stuck(t0.Add(launchFailureWindow-time.Second), 0); err != nil {
			t.Fatalf("stuck inside the window: %v", err)
		}
		if err := w.stuck(t0.Add(launchFailureWindow), 0); !errors.As(err, &le) || le.Failed != 1 {
			t.Fatalf("not stuck once the window passed: %v", err)
		}
	})
	t.Run("an instance alive", func(t *testing.T) {
		var w launchWatch
		for range 5 {
			w.handle(failedLaunch(t0, "exit 1"))
		}
		if err := w.stuck(t0.Add(time.Hour), 1); err != nil {
			t.Fatalf("stuck while an instance runs: %v", err)
		}
	})
	t.Run("an instance served once", func(t *testing.T) {
		var w launchWatch
		w.handle(events.Envelope{Wall: t0, Event: alb.TargetHealthChanged{Target: "i-9", From: alb.StateInitial, To: alb.StateHealthy}})
		for range 5 {
			w.handle(failedLaunch(t0, "InsufficientInstanceCapacity")) // a zone lost later
		}
		if err := w.stuck(t0.Add(time.Hour), 0); err != nil {
			t.Fatalf("stuck after an instance served: %v", err)
		}
	})
}

func TestLastLineIsTheProgramsLastWordsCleaned(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "i-1.log")
	long := strings.Repeat("x", 400)
	for _, c := range []struct{ body, want string }{
		{"booting\nsimplydone: listen tcp 127.0.1.10:8080: bind: address already in use\n\n", "simplydone: listen tcp 127.0.1.10:8080: bind: address already in use"},
		{"panic: \x1b[31mboom\x07\r\n", "panic: [31mboom"},
		{long + "\n", strings.Repeat("x", 300) + "…"},
		{"", ""},
	} {
		if err := os.WriteFile(p, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := lastLine(p, 4096); got != c.want {
			t.Errorf("lastLine(%q) = %q, want %q", c.body, got, c.want)
		}
	}
	if got := lastLine(filepath.Join(dir, "missing.log"), 4096); got != "" {
		t.Errorf("a missing log gave %q", got)
	}
	big := strings.Repeat("old line\n", 2000) + "last words\n"
	if err := os.WriteFile(p, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := lastLine(p, 64); got != "last words" {
		t.Errorf("the tail of a big log gave %q", got)
	}
}
