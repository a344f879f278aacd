package rds

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Install is a PostgreSQL server installation: the binaries the tier runs.
type Install struct {
	Version      string // as `postgres --version` says it: "15.14 (Debian 15.14-0+deb12u1)"
	Major        int    // 15
	BinDir       string // /usr/lib/postgresql/15/bin on Debian
	Initdb       string
	PgCtl        string
	Postgres     string
	PgBasebackup string
}

// Debian's package and the command that installs it, which the lab says
// when the server is missing (make test-deps runs it as root).
const (
	DebianPackage  = "postgresql"
	InstallCommand = "apt-get install -y postgresql"
)

// ErrNotInstalled is Find's error when no PostgreSQL server is installed.
var ErrNotInstalled = errors.New("PostgreSQL is not installed")

// debianBinDirs is where Debian's postgresql-NN packages put the server's
// programs (not on PATH: /usr/bin has only the client wrappers).
var debianBinDirs = "/usr/lib/postgresql/*/bin"

// Find looks for a PostgreSQL server: $LAB_PG_BINDIR when set, else the
// newest Debian /usr/lib/postgresql/NN/bin that has every program the tier
// runs, else the directory of a postgres on PATH. It runs `postgres
// --version` to say which.
func Find() (Install, error) {
	var dirs []string
	if d := os.Getenv("LAB_PG_BINDIR"); d != "" {
		dirs = append(dirs, d)
	} else {
		found, _ := filepath.Glob(debianBinDirs)
		slices.SortFunc(found, func(a, b string) int { return majorOf(b) - majorOf(a) }) // newest first
		dirs = append(dirs, found...)
		if p, err := exec.LookPath("postgres"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	var missing []string
	for _, d := range dirs {
		in := Install{BinDir: d, Initdb: filepath.Join(d, "initdb"), PgCtl: filepath.Join(d, "pg_ctl"),
			Postgres: filepath.Join(d, "postgres"), PgBasebackup: filepath.Join(d, "pg_basebackup")}
		missing = missing[:0]
		for _, p := range []string{in.Initdb, in.PgCtl, in.Postgres, in.PgBasebackup} {
			if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				missing = append(missing, filepath.Base(p))
			}
		}
		if len(missing) > 0 {
			continue
		}
		out, err := exec.Command(in.Postgres, "--version").Output()
		if err != nil {
			return Install{}, fmt.Errorf("%s --version: %w", in.Postgres, err)
		}
		if in.Version, in.Major, err = parseVersion(string(out)); err != nil {
			return Install{}, fmt.Errorf("%s --version: %w", in.Postgres, err)
		}
		return in, nil
	}
	if len(dirs) > 0 && len(missing) > 0 {
		return Install{}, fmt.Errorf("%w: %s lacks %s; install Debian's server package: %s", ErrNotInstalled, dirs[len(dirs)-1], strings.Join(missing, ", "), InstallCommand)
	}
	return Install{}, fmt.Errorf("%w (no %s, no postgres on PATH); install Debian's server package: %s", ErrNotInstalled, debianBinDirs, InstallCommand)
}

var versionLine = regexp.MustCompile(`^postgres \(PostgreSQL\) (([0-9]+)(\.[0-9]+)?.*)$`)

// parseVersion reads `postgres --version`'s line.
func parseVersion(out string) (string, int, error) {
	m := versionLine.FindStringSubmatch(strings.TrimSpace(out))
	if m == nil {
		return "", 0, fmt.Errorf("unexpected output %q", strings.TrimSpace(out))
	}
	major, err := strconv.Atoi(m[2])
	return m[1], major, err
}

// majorOf is NN of /usr/lib/postgresql/NN/bin (0 when it is not a number).
func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}
