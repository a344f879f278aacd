package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// recordingUndoer is the lab's side of a replay: it records every fault it
// is asked to undo (the lab's own would signal the processes of that
// instance), and undoes nothing.
type recordingUndoer struct{ asked []FaultInjected }

func (u *recordingUndoer) Undo(_ context.Context, f FaultInjected) (string, error) {
	u.asked = append(u.asked, f)
	return "recorded", nil
}

// intactFaults is every FaultInjected written whole on a line of data.
func intactFaults(data []byte) []FaultInjected {
	var out []FaultInjected
	for _, l := range bytes.Split(data, []byte("\n")) {
		var line struct {
			Type  string          `json:"type"`
			Entry json.RawMessage `json:"entry"`
		}
		var fi FaultInjected
		if json.Unmarshal(l, &line) == nil && line.Type == "chaos.FaultInjected" && json.Unmarshal(line.Entry, &fi) == nil {
			out = append(out, fi)
		}
	}
	return out
}

// FuzzReplay feeds any bytes, as a crashed run's chaos journal, to what
// `lab down` does with it. Whatever the journal holds (cut short, corrupted,
// lines glued together), the replay must not panic; it may only ask to undo
// a fault written whole on a line of its own (so a torn line never names an
// instance, and through it a process, that no line named); and once it has
// replayed, the reverts it wrote must be readable, so that a second replay
// asks nothing.
func FuzzReplay(f *testing.F) {
	owner := `{"type":"chaos.JournalOpened","entry":{"pid":999999999,"start":1}}` + "\n"
	pause := `{"type":"chaos.FaultInjected","entry":{"n":1,"action":"pause-instance","instance":"i-0a","zone":"us-east-1a"}}`
	revert := `{"type":"chaos.FaultReverted","entry":{"n":1,"action":"pause-instance","instance":"i-0a","note":"x"}}`
	f.Add([]byte(owner + pause + "\n" + revert + "\n"))
	f.Add([]byte(owner + pause + "\n"))
	f.Add([]byte(owner + pause))                      // the crash came before the newline
	f.Add([]byte(owner + pause[:len(pause)-9]))       // cut inside the entry
	f.Add([]byte(owner + pause + "\n" + revert[:40])) // the revert torn
	f.Add([]byte(owner + pause + pause + "\n"))       // two lines glued
	f.Add([]byte(owner + `{"type":"chaos.FaultInjected","entry":{"n":2,"action":"pause-instance","instance":""}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "chaos.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		u := &recordingUndoer{}
		_, err := Replay(context.Background(), path, u)
		if errors.Is(err, ErrOwnerAlive) {
			if len(u.asked) != 0 {
				t.Fatalf("asked to undo %+v of a live run", u.asked)
			}
			return
		}
		intact := intactFaults(data)
		for _, a := range u.asked {
			found := false
			for _, w := range intact {
				if reflect.DeepEqual(a, w) {
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("asked to undo %+v, which no whole line of the journal holds", a)
			}
		}
		if err != nil {
			return // a journal it could not read (a line over 1 MiB): nothing more to say
		}
		again := &recordingUndoer{}
		if _, err := Replay(context.Background(), path, again); err != nil || len(again.asked) != 0 {
			b, _ := os.ReadFile(path)
			t.Fatalf("the second replay asked to undo %+v (%v); the journal now:\n%q", again.asked, err, b)
		}
	})
}
