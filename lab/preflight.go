package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/simplydone/lab/internal/buildinfo"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/docker"
)

// BuiltinCommand is the launch template command that names SimplyDone, the
// lab's own demo workload: `command: [simplydone]` runs Options.SimplyDone
// (`lab simplydone`, the lab's own binary) with the command's arguments
// after it.
const BuiltinCommand = "simplydone"

// PreflightError is a stack the lab refuses before anything starts: the
// runtime could not launch a single instance of it (its command or image
// does not resolve, or an image cannot be built from it).
type PreflightError struct{ Err error }

func (e *PreflightError) Error() string { return e.Err.Error() }
func (e *PreflightError) Unwrap() error { return e.Err }

// command is the launch template's command as the runtime runs it: the
// built-in `simplydone` becomes Options.SimplyDone and its arguments, when
// the program set one; any other command is left as it is.
func (o *Options) command(cmd []string) []string {
	if len(cmd) == 0 || cmd[0] != BuiltinCommand || len(o.SimplyDone) == 0 {
		return cmd
	}
	return append(slices.Clone(o.SimplyDone), cmd[1:]...)
}

// builtin says whether the stack runs the lab's own SimplyDone.
func (o *Options) builtin() bool {
	c := o.Stack.LaunchTemplate.Command
	return o.Stack.LaunchTemplate.Image == "" && len(c) > 0 && c[0] == BuiltinCommand && len(o.SimplyDone) > 0
}

// preflight picks the runtime and checks, before anything starts, that it
// can run the stack's instances: the command resolves to an executable
// (exec.LookPath's rules, beside the lab first), an image is in the engine,
// and the binary an image is built from is static. Auto picks processes
// when the engine answers but the lab's own binary, dynamically linked,
// cannot be SimplyDone's image; an explicit --driver docker is refused with
// how to get a static build.
func preflight(ctx context.Context, o *Options) (driver, why string, err error) {
	refuse := func(field string, err error) (string, string, error) { // the stack's fault: its file and line lead
		return "", "", &PreflightError{Err: fmt.Errorf("%s: %s: %w", o.Stack.At(field), field, err)}
	}
	driver, why, err = ResolveDriver(ctx, o.Driver)
	if o.Isolate {
		driver, why, err = resolveIsolated(ctx, o.Driver)
	}
	if err != nil {
		return "", "", &PreflightError{Err: err}
	}
	lt := o.Stack.LaunchTemplate
	if lt.Image != "" {
		if driver != DriverDocker {
			return refuse("launch_template.image", fmt.Errorf("%q needs the Docker runtime, and %s", lt.Image, why))
		}
		if err := docker.CheckImage(ctx, lt.Image); err != nil {
			return refuse("launch_template.image", err)
		}
		return driver, why, nil
	}
	cmd := o.command(lt.Command)
	if len(cmd) == 0 || cmd[0] == "" {
		return refuse("launch_template.command", errors.New("empty; give the program each instance runs, or [simplydone] for the lab's own"))
	}
	path, err := az.ResolveCommand(cmd[0])
	if err == nil {
		err = executable(path)
	}
	if err != nil {
		return refuse("launch_template.command", err)
	}
	if driver != DriverDocker {
		return driver, why, nil
	}
	dynamic, err := buildinfo.Dynamic(path)
	if err != nil {
		return refuse("launch_template.command", fmt.Errorf("the Docker runtime builds an image FROM scratch from it: %w", err))
	}
	switch {
	case !dynamic:
		return driver, why, nil
	case o.builtin() && (o.Driver == "" || o.Driver == DriverAuto):
		return DriverProcess, "instances run as local processes: a Docker engine answers, but this lab (" + path +
			") is dynamically linked and cannot be SimplyDone's image FROM scratch; for containers, rebuild it with " +
			buildinfo.Read().StaticHint(), nil
	case o.builtin():
		return "", "", &PreflightError{Err: fmt.Errorf("--driver docker builds SimplyDone's image FROM scratch from the lab's own binary, and this lab (%s) is dynamically linked (built with cgo); "+
			"rebuild it with %s, or run with --driver process", path, buildinfo.Read().StaticHint())}
	}
	return refuse("launch_template.command", fmt.Errorf("%s is dynamically linked; the Docker runtime builds an image FROM scratch from it, which needs a statically linked program (for a Go program, CGO_ENABLED=0), or give launch_template.image, or run with --driver process", path))
}

// executable checks that path is a regular file someone may execute.
func executable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("command %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("command %s is not a regular file", path)
	case fi.Mode()&0o111 == 0:
		return fmt.Errorf("command %s is not executable (mode %s)", path, fi.Mode().Perm())
	}
	return nil
}
