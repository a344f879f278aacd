package storefile

import (
	"os"
	"path/filepath"
)

// BootedDir is the directory of the shared data directory where each
// instance leaves a mark once its first boot (its initialisation) has
// finished. The mark stands for what an EC2 instance's root volume keeps
// across a stop: an instance started again finds it and waits only its
// restart delay (a warm pool's warm start).
const BootedDir = "booted"

// Booted is the path of an instance's first-boot mark.
func Booted(dataDir, instanceID string) string {
	return filepath.Join(dataDir, BootedDir, instanceID)
}

// MarkBooted leaves the instance's first-boot mark.
func MarkBooted(dataDir, instanceID string) error {
	path := Booted(dataDir, instanceID)
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	return os.WriteFile(path, nil, 0o666)
}

// HasBooted says whether the instance has finished a first boot before.
func HasBooted(dataDir, instanceID string) bool {
	_, err := os.Stat(Booted(dataDir, instanceID))
	return err == nil
}
