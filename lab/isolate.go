package lab

import (
	"context"
	"errors"
	"net"
	"os"
)

// An isolated run (Options.Isolate, `lab run --isolate`) keeps its
// instances in network namespaces with loopback only: the process runtime's
// instances in the run's own (internal/runns), the Docker runtime's
// containers each in its own (network mode none). They listen on their zone
// addresses inside and reach nothing of the host (not its loopback
// services, not its other addresses, not the metadata endpoint).
// The load balancer's nodes, their health checks and the warm pool's check
// connect to them through sockets made in that namespace.

// isolatedDialer is a runtime whose instances may be in a namespace of the
// run's own (sim/az/process with Isolate).
type isolatedDialer interface {
	Isolated() (string, bool)
	Dial(ctx context.Context, network, address string) (net.Conn, error)
}

// instanceDial is how the lab connects to its instances: through the
// runtime when they are in the run's namespace; nil for the host's network.
func (l *Lab) instanceDial() func(ctx context.Context, network, address string) (net.Conn, error) {
	if d, ok := l.Runtime.(isolatedDialer); ok {
		if _, iso := d.Isolated(); iso {
			return d.Dial
		}
	}
	return nil
}

// sayNetwork says, for an isolated run, where its instances' network is
// (a run on the host's network says nothing: README and `lab doctor` say
// what that means).
func (l *Lab) sayNetwork() {
	d, ok := l.Runtime.(isolatedDialer)
	if !ok {
		return
	}
	switch name, iso := d.Isolated(); {
	case iso && name != "":
		l.say("Network: instances run in the network namespace %s (loopback only: they reach nothing of the host); removed when the run ends", name)
	case iso:
		l.say("Network: each instance's container has a network namespace of its own (network mode none, loopback only: it reaches nothing of the host)")
	}
}

// resolveIsolated picks the runtime for an isolated run, as root (the lab
// enters the namespaces to reach the instances): processes in a namespace
// of the run's own, or containers each in its own.
func resolveIsolated(ctx context.Context, driver string) (string, string, error) {
	driver, why, err := ResolveDriver(ctx, driver)
	if err != nil {
		return "", "", err
	}
	if os.Geteuid() != 0 {
		return "", "", errors.New("--isolate: the lab enters the instances' network namespaces to reach them, which needs root (CAP_SYS_ADMIN); run the lab as root, or without --isolate")
	}
	if driver == DriverProcess {
		return driver, "instances run as local processes in a network namespace of the run's own (--isolate)", nil
	}
	return driver, why + "; each container in a network namespace of its own (--isolate)", nil
}
