package az

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ResolveCommand finds an instance's program as both runtimes do: an
// absolute path as is, else next to the lab's own executable, else on PATH.
func ResolveCommand(name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("command %q: not an absolute path, not next to the lab executable, not on PATH", name)
	}
	return filepath.Abs(p)
}
