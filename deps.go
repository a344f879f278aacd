//go:build tools

// This file pins the design's dependencies that later issues put to work
// (the Docker runtime, the memberlist cluster, the TUI, the vegeta load), so that go.mod
// keeps their exact versions before the first import lands. It is never built.
package lab

import (
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/docker/docker/client"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/tsenart/vegeta/v12/lib"
)
