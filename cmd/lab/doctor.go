package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/stack"
)

// doctor reports what this machine offers the lab: a Docker engine, CPU
// limits for processes, the zones' loopback addresses, and the stack's ports.
func doctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "simplydone"
	if len(args) > 0 {
		name = args[0]
	}
	s, err := stack.Resolve(name)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	ok := true
	check := func(good bool, what, detail string) {
		mark := "✓"
		if !good {
			mark, ok = "✗", false
		}
		fmt.Fprintf(stdout, "%s %-22s %s\n", mark, what, detail)
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	v, derr := docker.Available(dctx)
	cancel()
	if derr == nil {
		fmt.Fprintf(stdout, "✓ %-22s engine answers, API %s\n", "Docker", v)
	} else {
		fmt.Fprintf(stdout, "- %-22s no engine answers (%v); runs use local processes\n", "Docker", derr)
	}
	driver, why, _ := lab.ResolveDriver(ctx, lab.DriverAuto)
	fmt.Fprintf(stdout, "  %-22s %s: %s\n", "lab run --driver auto", driver, why)
	ok = doctorPostgres(s, stdout) && ok
	ok = doctorAgents(ctx, s, "", stdout) && ok // zones on agents: the token from $LAB_AGENT_TOKEN_FILE
	ok = doctorEngines(ctx, s, stdout) && ok    // zones on Docker contexts' engines (doctor_engines.go)
	on, detail := process.CheckCgroups()
	check(on, "CPU limits (processes)", detail)
	zones, err := az.NewZones(s.Zones)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	for _, z := range zones {
		inst, _ := az.NewAddresses().Allocate(z)
		check(canListen(z.NodeAddr(), 0) && canListen(inst, 0), "loopback "+z.Name, fmt.Sprintf("%s (node %s, first instance %s)", z.Subnet, z.NodeAddr(), inst))
		port := s.LoadBalancer.ListenerPort
		check(canListen(z.NodeAddr(), port), "port "+strconv.Itoa(port)+" on "+z.NodeAddr().String(), "free for the load balancer node of "+z.Name)
	}
	fmt.Fprintf(stdout, "! %-22s %s\n", "instances", trustNote)
	mark, isoDetail := "-", ""
	if iso, d := isolateReady(); iso {
		mark, isoDetail = "✓", d
	} else {
		isoDetail = d
	}
	fmt.Fprintf(stdout, "%s %-22s %s\n", mark, "lab run --isolate", isoDetail)
	if !ok {
		return exitFailed
	}
	return exitOK
}

// trustNote is what doctor says of the code a stack runs: it is not
// sandboxed from the host's network.
const trustNote = "a stack's command or image is trusted code on this host's network: it reaches every " +
	"loopback service and the host's metadata endpoint (169.254.169.254); run only what you would run yourself " +
	"(as root, process instances run as nobody, 65534, with no capabilities); for code you do not trust, " +
	"`lab run --isolate` (or `lab up --isolate`) runs the instances in a network namespace of the run's own"

// isolateReady says whether this host can give a run its own network
// namespace (--isolate): the process runtime as root.
func isolateReady() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "not as this user: a run's own network namespace needs root; instances share the host's network"
	}
	return true, "available: processes in a network namespace of the run's own, containers each in its own (network mode none); loopback only, they reach nothing of the host"
}

func canListen(addr netip.Addr, port int) bool {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, uint16(port)).String())
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
