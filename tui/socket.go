package tui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/simplydone/lab/lab"
)

// The live socket: a running lab serves its snapshots on RUN_DIR/live.sock
// so that `lab watch` can show the run from another terminal, read-only.
// The protocol is newline-delimited JSON, one Snapshot a line, as often as
// the aggregator builds them (Every: about three a second). A client's
// first line carries the last backlogLen events of the run so far; each
// later line carries only the events since the line before, as the view's
// own snapshots do. The server only writes; it reads nothing. When the run
// ends the last line has Done set and the server closes the connection and
// removes the socket.

// SocketName is the live socket's name in a run directory.
const SocketName = "live.sock"

// backlogLen is how many past events a client gets when it attaches.
const backlogLen = 2000

// clientQueue is how many lines a client may fall behind before it is dropped.
const clientQueue = 64

// Server serves a run's snapshots on a unix socket.
type Server struct {
	ln   net.Listener
	path string

	mu      sync.Mutex
	clients map[*client]struct{}
	backlog []Entry
	last    Snapshot // without events
	closed  bool
	wg      sync.WaitGroup
}

type client struct {
	conn net.Conn
	out  chan []byte
}

// Listen serves on dir/live.sock.
func Listen(dir string) (*Server, error) {
	path := filepath.Join(dir, SocketName)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("live socket: %w", err)
	}
	// The socket drives the run (faults by hand): its owner's only.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("live socket: %w", err)
	}
	s := &Server{ln: ln, path: path, clients: map[*client]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// peerAllowed reports whether the process at the other end of conn runs as
// this process's user or as root (SO_PEERCRED, as the kernel saw it at
// connect). The socket's mode 0600 keeps others out already; this holds
// also in the moment between its creation and the chmod, and if its mode
// is changed.
func peerAllowed(conn net.Conn) bool {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return false
	}
	return cred.Uid == 0 || int(cred.Uid) == os.Geteuid()
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !peerAllowed(conn) {
			conn.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		first := s.last
		first.Events = withWhy(s.backlog)
		line, err := encode(first)
		if err != nil {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		c := &client{conn: conn, out: make(chan []byte, clientQueue)}
		c.out <- line
		s.clients[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.write(c)
	}
}

// write sends c its lines until its queue is closed or it stops reading.
func (s *Server) write(c *client) {
	defer s.wg.Done()
	defer c.conn.Close()
	for line := range c.out {
		c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.conn.Write(line); err != nil {
			s.drop(c)
			for range c.out {
			}
			return
		}
	}
}

func (s *Server) drop(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c]; ok {
		delete(s.clients, c)
		close(c.out)
	}
}

// Publish sends a snapshot to every client and keeps its events for those
// that attach later. Only the aggregator's goroutine calls it.
func (s *Server) Publish(snap Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.backlog = append(s.backlog, snap.Events...)
	if len(s.backlog) > backlogLen {
		s.backlog = append([]Entry(nil), s.backlog[len(s.backlog)-backlogLen*9/10:]...)
	}
	s.last = snap
	s.last.Events = nil
	if len(s.clients) == 0 {
		return
	}
	snap.Events = withWhy(snap.Events)
	line, err := encode(snap)
	if err != nil {
		return
	}
	for c := range s.clients {
		select {
		case c.out <- line:
		default: // too far behind: let it go rather than hold the run up
			delete(s.clients, c)
			close(c.out)
			c.conn.Close()
		}
	}
}

// Close stops accepting, sends every client what is queued for it, closes
// the connections and removes the socket.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	var conns []net.Conn
	for c := range s.clients {
		delete(s.clients, c)
		close(c.out)
		conns = append(conns, c.conn)
	}
	s.mu.Unlock()
	// give the clients a moment to take what is queued for them, but do
	// not let one that stopped reading hold the run's end up
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(time.Second):
		for _, c := range conns {
			c.Close()
		}
		<-waited
	}
	os.Remove(s.path)
	return err
}

// withWhy copies entries with their explanations filled in, since the
// events themselves do not cross the socket.
func withWhy(es []Entry) []Entry {
	if len(es) == 0 {
		return nil
	}
	out := make([]Entry, len(es))
	for i, e := range es {
		e.Why = explain(e)
		e.Event = nil
		out[i] = e
	}
	return out
}

func encode(s Snapshot) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Follow reads a live socket's snapshots and calls fn with each until the
// run ends (a snapshot with Done), the server goes away (an error), or ctx
// ends.
func Follow(ctx context.Context, path string, fn func(Snapshot)) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	sc.Split(wholeLines)
	for sc.Scan() {
		var s Snapshot
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("live socket %s: %w", path, err)
		}
		fn(s)
		if s.Done {
			return nil
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return ErrGone
}

// wholeLines splits at newlines and drops a last line without one: the
// server went away in the middle of writing it.
func wholeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), nil, nil
	}
	return 0, nil, nil
}

// ErrGone is Follow's error when the run closed the socket before it ended.
var ErrGone = errors.New("the run's live socket closed before the run ended")

// NewestLive is the newest run directory under runsDir whose live socket
// answers: the run to watch when none is named.
func NewestLive(runsDir string) (string, error) {
	socks, _ := filepath.Glob(filepath.Join(runsDir, "*", SocketName))
	type cand struct {
		dir string
		mod time.Time
	}
	var cs []cand
	for _, p := range socks {
		if fi, err := os.Stat(filepath.Dir(p)); err == nil {
			cs = append(cs, cand{filepath.Dir(p), fi.ModTime()})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].mod.Equal(cs[j].mod) {
			return cs[i].mod.After(cs[j].mod)
		}
		return cs[i].dir > cs[j].dir
	})
	for _, c := range cs {
		conn, err := net.DialTimeout("unix", filepath.Join(c.dir, SocketName), time.Second)
		if err == nil {
			conn.Close()
			return c.dir, nil
		}
	}
	return "", fmt.Errorf("no running lab under %s: no run directory has a %s that answers", runsDir, SocketName)
}

// publish sends s on the live socket, if one is up.
func (a *Aggregator) publish(s Snapshot) {
	a.mu.Lock()
	srv := a.srv
	if s.Done {
		a.servedDone = srv != nil
	}
	a.mu.Unlock()
	if srv != nil {
		srv.Publish(s)
	}
}

// closeServer sends the run's last snapshot on the live socket (if the
// aggregator has not) and closes it. Call it once lab.Run has returned and
// Finish has been called.
func (a *Aggregator) closeServer() {
	a.mu.Lock()
	srv, sent := a.srv, a.servedDone
	a.srv = nil
	a.mu.Unlock()
	if srv == nil {
		return
	}
	if !sent {
		srv.Publish(a.Snapshot())
	}
	srv.Close()
}

// Broadcast serves a run on RUN_DIR/live.sock for `lab watch` when no live
// view is up (`lab run --no-tui`, or stdout not a terminal): call it on the
// options before lab.Run, and call the returned finish with what lab.Run
// returned. The run's console and logger are left as they are (the lab's
// notes reach the watchers' log as events).
func Broadcast(o *lab.RunOptions) (finish func(*lab.Summary, error)) {
	agg := NewAggregator(o.Scenario, o.Stack, o.Speed)
	agg.serve = true
	agg.hook(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var once sync.Once
	prevHandle := o.OnHandle
	o.OnHandle = func(h *lab.Handle) {
		if prevHandle != nil {
			prevHandle(h)
		}
		once.Do(func() {
			go func() {
				defer close(done)
				agg.Run(ctx, Every, func(Snapshot) {})
			}()
		})
	}
	return func(sum *lab.Summary, err error) {
		agg.Finish(sum, err)
		once.Do(func() { close(done) }) // never started: nothing to wait for
		select {
		case <-done: // the aggregator sent the last snapshot
		case <-time.After(2 * time.Second):
		}
		cancel()
		<-done
		agg.closeServer()
	}
}
