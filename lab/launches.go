package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
)

// When a group that has never had an instance serve gives up: no instance
// of it is alive, and launches have failed this many times, or for this
// long in wall time since the first failure. A config that cannot launch
// (a command that exits at once, every address taken) fails every attempt
// the same way; three in a row with nothing alive is not bad luck.
const (
	launchFailuresToStop = 3
	launchFailureWindow  = 30 * time.Second
)

// LaunchError is a run whose group could not launch a single instance: it
// stopped early, with the last failed activity's status reason.
type LaunchError struct {
	Failed int    // failed launch activities
	Reason string // the last one's status message
}

func (e *LaunchError) Error() string {
	return fmt.Sprintf("the Auto Scaling group could not launch any instance: %d launch(es) failed and none served; the last: %s", e.Failed, e.Reason)
}

// launchWatch follows the group's launches on the bus: the failed ones and
// whether any instance has ever served (its target healthy on a node).
type launchWatch struct {
	mu     sync.Mutex
	failed int
	first  time.Time // wall time of the first failure
	reason string
	served bool
}

func (w *launchWatch) handle(e events.Envelope) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev := e.Event.(type) {
	case asg.ScalingActivity:
		if ev.Action == "Launch" && ev.Status == asg.ActivityFailed {
			if w.failed == 0 {
				w.first = e.Wall
			}
			w.failed++
			w.reason = ev.StatusMessage
			if w.reason == "" {
				w.reason = ev.Description
			}
		}
	case alb.TargetHealthChanged:
		if ev.To == alb.StateHealthy {
			w.served = true
		}
	}
}

// stuck is the LaunchError once the group has clearly failed to launch
// anything: nothing has served, nothing is alive now, and launches failed
// launchFailuresToStop times or for launchFailureWindow; nil before.
func (w *launchWatch) stuck(now time.Time, alive int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.served || w.failed == 0 || alive > 0 {
		return nil
	}
	if w.failed < launchFailuresToStop && now.Sub(w.first) < launchFailureWindow {
		return nil
	}
	return &LaunchError{Failed: w.failed, Reason: w.reason}
}

// launchStuck is the run's LaunchError once its group has clearly failed to
// launch any instance; nil while it may still.
func (l *Lab) launchStuck() error {
	if l.launches.stuck(time.Now(), 0) == nil {
		return nil // the cheap answer: no failure yet, or one of them served
	}
	alive := 0
	for _, in := range l.allInstances() {
		if l.fleetOf(in.ID).Running(in.ID) {
			alive++
		}
	}
	return l.launches.stuck(time.Now(), alive)
}

// WaitLaunchFailure returns the LaunchError once the group has clearly
// failed to launch any instance (`lab up` stops then), or nil when ctx ends
// first. It checks four times a wall second.
func (l *Lab) WaitLaunchFailure(ctx context.Context) error {
	tk := time.NewTicker(250 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
		if err := l.launchStuck(); err != nil {
			return err
		}
	}
}

// ExitCause says why an instance is no longer running (asg.ExitCauser):
// its program exited on its own, with the last line it wrote; not ok when
// chaos or a person stopped it, or it still runs.
func (f *fleet) ExitCause(id az.InstanceID) (string, bool) {
	f.mu.Lock()
	onPurpose := f.stopped[id]
	f.mu.Unlock()
	if onPurpose {
		return "", false
	}
	if in, ok := f.instance(id); ok && (in.State == az.StateRunning || in.State == az.StatePaused) {
		return "", false
	}
	log := filepath.Join("logs", string(id)+".log") // in the run directory
	if p, ok := f.l.Runtime.(logPlacer); ok {
		if at := p.LogPlace(id); at != "" {
			log = at // an agent's instance
		}
	}
	last := lastLine(filepath.Join(f.l.Dir, log), 4096)
	if o, ok := f.l.Runtime.(outputter); ok && last == "" { // a container: the engine has its output until it is removed
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		out, err := o.Output(ctx, id, 5)
		cancel()
		if err == nil {
			last = cleanLastLine([]byte(out))
		}
	}
	if last == "" {
		if _, err := os.Stat(filepath.Join(f.l.Dir, log)); err != nil { // a container's output is saved when it is removed
			return fmt.Sprintf("its program exited on its own; its output goes to %s", log), true
		}
		return fmt.Sprintf("its program exited on its own, writing nothing to %s", log), true
	}
	return fmt.Sprintf("its program exited on its own: %s; see %s", last, log), true
}

// onPurpose marks an instance stopped or killed on purpose (chaos): its
// stop is not a failed launch.
func (f *fleet) onPurpose(id string, stopped bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if stopped {
		f.stopped[az.InstanceID(id)] = true
	} else {
		delete(f.stopped, az.InstanceID(id))
	}
}

// lastLine is the last non-empty line of the file's final max bytes,
// stripped of control characters and cut to 300 characters ("" when there
// is none or the file cannot be read).
func lastLine(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return ""
	}
	return cleanLastLine(b)
}

// logPlacer is a runtime that says where an instance's output is when it
// is not logs/ID.log in the run's directory (zonedRuntime).
type logPlacer interface {
	LogPlace(id az.InstanceID) string
}

// outputter is a runtime that can show an instance's last output lines
// (the Docker runtime, while the container exists).
type outputter interface {
	Output(ctx context.Context, id az.InstanceID, lines int) (string, error)
}

// cleanLastLine is b's last non-empty line, stripped of control characters
// (a program's output must not steer the terminal) and cut to 300
// characters.
func cleanLastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	line := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, string(lines[len(lines)-1]))
	if r := []rune(line); len(r) > 300 {
		line = string(r[:300]) + "…"
	}
	return strings.TrimSpace(line)
}
