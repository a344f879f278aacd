package todo

import "fmt"

// VersionHeader carries the release an instance runs on every response, so
// a deploy can be watched from the client side.
const VersionHeader = "X-SimplyDone-Version"

// DefaultVersion is the release of an instance not told otherwise.
const DefaultVersion = "v1"

// The deliberately broken builds: BrokenHealth's /health answers 500 (a
// build the load balancer keeps out); BrokenList's list (GET /api/todos)
// answers 500 while /health passes (a regression only traffic shows, which
// a blue/green deploy's alarm catches).
const (
	BrokenHealth = "health"
	BrokenList   = "list"
)

func (c Config) version() string {
	if c.Version == "" {
		return DefaultVersion
	}
	return c.Version
}

// CheckBroken validates a Broken setting.
func CheckBroken(s string) error {
	if s != "" && s != BrokenHealth && s != BrokenList {
		return fmt.Errorf("broken %q: allowed %q or %q (or empty for a working build)", s, BrokenHealth, BrokenList)
	}
	return nil
}
