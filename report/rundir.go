package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/rundir"
)

// The files of a run directory the report reads.
const (
	SummaryFile  = rundir.SummaryFile
	SecondsFile  = rundir.SecondsFile
	EventsFile   = rundir.EventsFile
	StackFile    = rundir.StackFile
	ScenarioFile = rundir.ScenarioFile
	ReportFile   = rundir.ReportFile
)

// Summary is summary.json and Second one line of seconds.jsonl, as package
// rundir defines them.
type (
	Summary = rundir.Summary
	Second  = rundir.Second
)

// Run is a run directory as read.
type Run struct {
	Dir          string
	Summary      Summary
	Seconds      []Second
	Events       []Event
	Host         []rundir.HostSecond // host.jsonl: the host's contention per load second
	Database     []rundir.DBSample   // database.jsonl: the data tier each AWS minute
	StackYAML    string
	ScenarioYAML string
}

// ReadRun reads a run directory. summary.json is required; the other files
// are read when present (a run stopped early may lack some).
func ReadRun(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.Summary); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SummaryFile), err)
	}
	if err := readLines(filepath.Join(dir, SecondsFile), func(line []byte) error {
		var s Second
		if err := json.Unmarshal(line, &s); err != nil {
			return err
		}
		r.Seconds = append(r.Seconds, s)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readLines(filepath.Join(dir, EventsFile), func(line []byte) error {
		e, err := events.Decode(line)
		if err != nil {
			return err
		}
		r.Events = append(r.Events, e)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readLines(filepath.Join(dir, rundir.HostFile), func(line []byte) error {
		var s rundir.HostSecond
		if err := json.Unmarshal(line, &s); err != nil {
			return err
		}
		r.Host = append(r.Host, s)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readLines(filepath.Join(dir, rundir.DatabaseFile), func(line []byte) error {
		var s rundir.DBSample
		if err := json.Unmarshal(line, &s); err != nil {
			return err
		}
		r.Database = append(r.Database, s)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{StackFile, &r.StackYAML}, {ScenarioFile, &r.ScenarioYAML}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		*f.dst = string(b)
	}
	return r, nil
}

// readLines calls f for each non-empty line of a JSONL file; a missing file
// has no lines, and a torn last line (a run killed mid-write) is ignored.
func readLines(path string, f func([]byte) error) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := f(line); err != nil {
			if !bytes.HasSuffix(b, []byte("\n")) && bytes.HasSuffix(b, sc.Bytes()) {
				return nil // a torn last line: the run was killed while writing it
			}
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}
