package events_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"

	// Every package that defines events, for their registrations.
	_ "github.com/simplydone/lab/chaos"
	_ "github.com/simplydone/lab/lab"
	_ "github.com/simplydone/lab/rundir"
	_ "github.com/simplydone/lab/sim/alb"
	_ "github.com/simplydone/lab/sim/asg"
	_ "github.com/simplydone/lab/sim/cloudwatch"
)

// TestJournalRoundTripsEveryRegisteredEvent is the journal's contract: every
// registered event, with every field set, written through a Bus and a
// Journal exactly as a run writes events.jsonl, reads back (Reader) as an
// equal value of its own type. A field the journal cannot carry, or a type
// whose name two packages share, breaks it.
func TestJournalRoundTripsEveryRegisteredEvent(t *testing.T) {
	protos := events.Registered()
	if len(protos) < 20 {
		t.Fatalf("only %d event types registered", len(protos))
	}
	var sent []events.Event
	for _, p := range protos {
		v := reflect.New(reflect.TypeOf(p)).Elem()
		fill(t, v, events.TypeName(p))
		sent = append(sent, v.Interface().(events.Event))
	}
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	bus := events.NewBus(clock.NewFake(start))
	var buf bytes.Buffer
	j := events.NewJournal(&buf)
	bus.Subscribe(j.Handle)
	for _, e := range sent {
		bus.Publish(e)
	}
	bus.Close()
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	r := events.NewReader(&buf)
	for i, want := range sent {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("event %d (%s): %v", i+1, events.TypeName(want), err)
		}
		name := events.TypeName(want)
		if got.Type != name || got.Kind != want.Kind() || got.Seq != uint64(i+1) || !got.Time.Equal(start) {
			t.Errorf("%s: envelope read back as type %q kind %q seq %d time %v", name, got.Type, got.Kind, got.Seq, got.Time)
		}
		if !reflect.DeepEqual(got.Event, want) {
			t.Errorf("%s does not survive the journal:\n wrote %#v\n  read %#v", name, want, got.Event)
		}
		if got.Message() != want.Message() {
			t.Errorf("%s: message read back %q, want %q", name, got.Message(), want.Message())
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last event: %v, want io.EOF", err)
	}
}

// fill sets every exported field of v to a value other than its zero.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("value-of-" + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), path+"[]")
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, path+".key")
		fill(t, e, path+"[k]")
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)))
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() {
				fill(t, v.Field(i), path+"."+f.Name)
			}
		}
	default:
		t.Fatalf("%s: cannot fill a %s; teach fill or keep events to plain data", path, v.Type())
	}
}

// TestEveryEventTypeIsRegistered finds the event types in the module's
// source (types with Kind() string and Message() string methods) and checks
// that each is registered, so that a new event cannot be journalled without
// being readable back.
func TestEveryEventTypeIsRegistered(t *testing.T) {
	kinds, messages := map[string]string{}, map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != ".." && (strings.HasPrefix(n, ".") || n == "testdata" || n == "events") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 || fn.Type.Params.NumFields() != 0 ||
				fn.Type.Results.NumFields() != 1 || !isString(fn.Type.Results.List[0].Type) {
				continue
			}
			recv := fn.Recv.List[0].Type
			if s, ok := recv.(*ast.StarExpr); ok {
				recv = s.X
			}
			id, ok := recv.(*ast.Ident)
			if !ok {
				continue
			}
			switch fn.Name.Name {
			case "Kind":
				kinds[id.Name] = path
			case "Message":
				messages[id.Name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	for _, e := range events.Registered() {
		registered = append(registered, events.TypeName(e))
	}
	found := 0
	for name, path := range kinds {
		if !messages[name] {
			continue
		}
		found++
		if !slices.Contains(registered, name) {
			t.Errorf("%s (%s) is an event but is not registered; add it to its package's events.Register call", name, path)
		}
	}
	if found < 20 {
		t.Fatalf("found only %d event types in the source", found)
	}
}

func isString(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "string"
}
