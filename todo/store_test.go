package todo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// listAll returns every stored todo by id, walking pages.
func listAll(t *testing.T, s *Store) map[int64]Todo {
	t.Helper()
	all := map[int64]Todo{}
	var after int64
	for {
		page, err := s.List(context.Background(), after, MaxLimit)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(page) == 0 {
			return all
		}
		for _, td := range page {
			all[td.ID] = td
		}
		after = page[len(page)-1].ID
	}
}

// TestConcurrentStores opens two stores on one data dir and writes through
// both at once: every acknowledged write must be present afterwards.
func TestConcurrentStores(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var stores [2]*Store
	for i := range stores {
		s, err := OpenStore(ctx, dir)
		if err != nil {
			t.Fatalf("OpenStore %d: %v", i, err)
		}
		defer s.Close()
		stores[i] = s
	}

	const writersPerStore, writesEach = 4, 25
	var mu sync.Mutex
	acked := map[int64]string{}
	var wg sync.WaitGroup
	for si, s := range stores {
		for w := range writersPerStore {
			wg.Go(func() {
				for i := range writesEach {
					title := fmt.Sprintf("store %d writer %d item %d", si, w, i)
					td, err := s.Create(ctx, title, i%2 == 0)
					if err != nil {
						t.Errorf("Create: %v", err)
						continue
					}
					mu.Lock()
					if prev, dup := acked[td.ID]; dup {
						t.Errorf("id %d acknowledged twice: %q and %q", td.ID, prev, title)
					}
					acked[td.ID] = title
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()

	want := len(stores) * writersPerStore * writesEach
	if len(acked) != want {
		t.Errorf("%d writes acknowledged, want %d", len(acked), want)
	}
	for _, s := range stores {
		all := listAll(t, s)
		for id, title := range acked {
			if all[id].Title != title {
				t.Errorf("acknowledged write %d %q missing (got %q)", id, title, all[id].Title)
			}
		}
		if len(all) != len(acked) {
			t.Errorf("store lists %d todos, want %d", len(all), len(acked))
		}
	}
}

// TestConcurrentOpen boots many stores on a fresh data dir at once, as
// instances launched together do: schema creation and the switch to WAL
// must not fail any of them.
func TestConcurrentOpen(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := OpenStore(context.Background(), dir)
			if err != nil {
				t.Errorf("OpenStore %d: %v", i, err)
				return
			}
			defer s.Close()
			if _, err := s.Create(context.Background(), fmt.Sprint("boot ", i), false); err != nil {
				t.Errorf("Create %d: %v", i, err)
			}
		})
	}
	wg.Wait()

	s := openTestStoreIn(t, dir)
	if got := len(listAll(t, s)); got != n {
		t.Errorf("%d todos, want %d", got, n)
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func openTestStoreIn(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writerEnv makes the test binary act as a writer process for
// TestMultiProcessWriters.
const writerEnv = "SIMPLYDONE_TEST_WRITER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		os.Exit(writerProcess(dir))
	}
	code := m.Run()
	stopSharedPG()
	os.Exit(code)
}

// writerProcess creates todos in dir and prints each acknowledged id.
func writerProcess(dir string) int {
	s, err := OpenStore(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer s.Close()
	for i := range 50 {
		td, err := s.Create(context.Background(), fmt.Sprintf("pid %d item %d", os.Getpid(), i), false)
		if err != nil {
			fmt.Fprintln(os.Stderr, "create:", err)
			return 1
		}
		fmt.Println(td.ID)
	}
	return 0
}

// TestMultiProcessWriters runs several OS processes writing to one data dir
// at once, as instances do; every id a process saw acknowledged must be
// present.
func TestMultiProcessWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	const procs = 4
	type result struct {
		ids []int64
		err error
	}
	results := make(chan result, procs)
	for range procs {
		go func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), writerEnv+"="+dir)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				results <- result{err: fmt.Errorf("%v: %s", err, stderr.String())}
				return
			}
			var ids []int64
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				id, err := strconv.ParseInt(sc.Text(), 10, 64)
				if err != nil {
					results <- result{err: fmt.Errorf("bad output line %q", sc.Text())}
					return
				}
				ids = append(ids, id)
			}
			results <- result{ids: ids}
		}()
	}
	acked := map[int64]bool{}
	for range procs {
		r := <-results
		if r.err != nil {
			t.Errorf("writer process: %v", r.err)
			continue
		}
		for _, id := range r.ids {
			if acked[id] {
				t.Errorf("id %d acknowledged by two processes", id)
			}
			acked[id] = true
		}
	}
	all := listAll(t, openTestStoreIn(t, dir))
	for id := range acked {
		if _, ok := all[id]; !ok {
			t.Errorf("acknowledged id %d missing", id)
		}
	}
	if len(acked) != procs*50 || len(all) != len(acked) {
		t.Errorf("%d acknowledged, %d stored, want %d", len(acked), len(all), procs*50)
	}
}
