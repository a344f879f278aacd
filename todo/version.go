package todo

import "fmt"

// VersionHeader carries the release an instance runs on every response, so
// a deploy can be watched from the client side.
const VersionHeader = "X-SimplyDone-Version"

// DefaultVersion is the release of an instance not told otherwise.
const DefaultVersion = "v1"

// BrokenHealth is the one deliberately broken build: /health answers 500.
const BrokenHealth = "health"

func (c Config) version() string {
	if c.Version == "" {
		return DefaultVersion
	}
	return c.Version
}

// CheckBroken validates a Broken setting.
func CheckBroken(s string) error {
	if s != "" && s != BrokenHealth {
		return fmt.Errorf("broken %q: allowed %q (or empty for a working build)", s, BrokenHealth)
	}
	return nil
}
