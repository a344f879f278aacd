package todo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgServer is a real PostgreSQL server (Debian's postgresql package) the
// package's tests share: started on first use on a free loopback port,
// stopped by TestMain. Each test gets a database of its own.
type pgServer struct {
	dir  string // holds data/ and the server's log
	port int
	cmd  *exec.Cmd
	exit chan struct{}
}

var (
	pgOnce  sync.Once
	pgShare *pgServer
	pgErr   error
	pgDBs   atomic.Int64
)

// pgBin is the directory of Debian's PostgreSQL binaries (the newest
// major version installed), or "".
func pgBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d
		}
	}
	return ""
}

// testPostgres returns the URL of a fresh database on the shared server.
// Without PostgreSQL installed the test is skipped, except in CI (CI set),
// where `make test-deps` installs it and its absence is a failure.
func testPostgres(t *testing.T) string {
	t.Helper()
	if pgBin() == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is not installed (make test-deps installs Debian's postgresql)")
		}
		t.Skip("PostgreSQL is not installed (make test-deps installs Debian's postgresql)")
	}
	pgOnce.Do(func() { pgShare, pgErr = startPG() })
	if pgErr != nil {
		t.Fatalf("start PostgreSQL: %v", pgErr)
	}
	name := fmt.Sprintf("t%d", pgDBs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, pgShare.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return pgShare.url(name)
}

func (s *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://lab@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// asPostgresUser runs cmd as the unprivileged user 65534 when the tests run
// as root: PostgreSQL refuses to run as root.
func asPostgresUser(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
}

func startPG() (*pgServer, error) {
	bin := pgBin()
	dir, err := os.MkdirTemp("", "simplydone-pg-")
	if err != nil {
		return nil, err
	}
	s := &pgServer{dir: dir, exit: make(chan struct{})}
	data := filepath.Join(dir, "data")
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(data, 65534, 65534); err != nil {
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "lab", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	asPostgresUser(initdb)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "max_connections=40")
	asPostgresUser(s.cmd)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exit) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, s.url("postgres"))
		cancel()
		if err == nil {
			c.Close(context.Background())
			return s, nil
		}
		select {
		case <-s.exit:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("postgres exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("postgres did not answer within 30 s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort is a free loopback port below the kernel's ephemeral range
// (32768 and up), so that no outgoing connection takes it while a test has
// the server down and means to restart it on the same port.
func freePort() (int, error) {
	for range 100 {
		p := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port in 20000-31999")
}

// stop shuts the server down (a fast shutdown: SIGINT) and removes its files.
func (s *pgServer) stop() {
	if s == nil {
		return
	}
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-s.exit:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exit
		}
	}
	os.RemoveAll(s.dir)
}

// crash kills every process of the server at once (the host is gone) and
// waits until none is left. PostgreSQL makes each backend the leader of a
// session of its own, so the postmaster's process group does not hold
// them: its children are found by their parent pid. A backend outliving its
// postmaster by a moment could still answer, or hold the shared memory a
// restart needs.
func (s *pgServer) crash() error {
	pm := s.cmd.Process.Pid
	procs := append(childrenOf(pm), pm)
	for _, p := range procs {
		syscall.Kill(p, syscall.SIGKILL)
	}
	<-s.exit
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range procs {
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			if err != nil || strings.Contains(string(b), ") Z ") {
				break // gone, or a zombie its dead parent left to init
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d outlived SIGKILL by 10 s", p)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// stopSharedPG is TestMain's: the shared server goes with the test binary.
func stopSharedPG() {
	if pgShare != nil {
		pgShare.stop()
	}
}
