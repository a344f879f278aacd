package lab

import (
	"context"
	"errors"
	"net"
	"os"
)

// An isolated run (Options.Isolate, `lab run --isolate`) keeps its
// instances in a network namespace of its own (internal/runns): they listen
// on their zone addresses inside it and reach nothing of the host (not its
// loopback services, not its other addresses, not the metadata endpoint).
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
	if d, ok := l.Runtime.(isolatedDialer); ok {
		if name, iso := d.Isolated(); iso {
			l.say("Network: instances run in the network namespace %s (loopback only: they reach nothing of the host); removed when the run ends", name)
		}
	}
}

// resolveIsolated picks the runtime for an isolated run: the process
// runtime (auto picks it), as root. The Docker runtime does not offer a
// namespace of the run's own yet.
func resolveIsolated(ctx context.Context, driver string) (string, string, error) {
	switch driver {
	case DriverDocker:
		return "", "", errors.New("--isolate: instances in a network namespace of the run's own run on the process runtime only (the Docker runtime does not offer it yet); use --driver process")
	case "", DriverAuto, DriverProcess:
	default:
		return ResolveDriver(ctx, driver) // its own error
	}
	if os.Geteuid() != 0 {
		return "", "", errors.New("--isolate: making the run's network namespace needs root (CAP_SYS_ADMIN); run the lab as root, or without --isolate")
	}
	return DriverProcess, "instances run as local processes in a network namespace of the run's own (--isolate)", nil
}
