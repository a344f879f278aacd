package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

// Agents in the lab's process are the default of a one-host run; a stack
// whose zones name agents or Docker contexts, or --isolate, runs without
// them, and the flag given explicitly there is an error that says why.
func TestUseAgentsInProcess(t *testing.T) {
	oneHost := &stack.Stack{}
	onAgents := &stack.Stack{ZoneAgents: map[string]string{"us-east-1a": "10.0.0.1:7777"}}
	onContexts := &stack.Stack{ZoneContexts: map[string]string{"us-east-1a": "hostb"}}
	for _, c := range []struct {
		name    string
		args    []string
		st      *stack.Stack
		isolate bool
		use     bool
		err     string
	}{
		{"default", nil, oneHost, false, true, ""},
		{"explicit", []string{"--agents-in-process"}, oneHost, false, true, ""},
		{"off", []string{"--agents-in-process=false"}, oneHost, false, false, ""},
		{"stack on agents", nil, onAgents, false, false, ""},
		{"stack on contexts", nil, onContexts, false, false, ""},
		{"isolate", nil, oneHost, true, false, ""},
		{"isolate, off", []string{"--agents-in-process=false"}, oneHost, true, false, ""},
		{"isolate, explicit", []string{"--agents-in-process"}, oneHost, true, false, "--isolate has no agents' path"},
		{"stack on agents, explicit", []string{"--agents-in-process=true"}, onAgents, false, false, "already name agents"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			on := agentsInProcessFlag(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			use, err := useAgentsInProcess(fs, *on, c.st, c.isolate)
			if use != c.use {
				t.Errorf("use %v, want %v", use, c.use)
			}
			if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}
