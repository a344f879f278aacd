package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// busy is a flash sale at its peak: ten minutes of history, nine
// instances, a few events a snapshot.
func busy(i int) Snapshot {
	s := fixture()
	s.Events = nil
	for j := range 3 {
		s.Events = append(s.Events, Entry{Seq: uint64(i*3 + j), At: time.Duration(i) * Every * 20, Class: ClassHealth,
			Text: fmt.Sprintf("node us-east-1a: target i-%017d (127.0.1.10:18491, us-east-1a) healthy -> unhealthy (Target.Timeout: Request timed out)", i*3+j)})
	}
	h := History{}
	for k := range historyLen {
		v := float64((k+i)%97) + 30
		h.Offered, h.OK, h.Errors, h.P99 = append(h.Offered, v), append(h.OK, v-1), append(h.Errors, 1), append(h.P99, v*3)
	}
	s.History = h
	for z := range s.Zones {
		for len(s.Zones[z].Instances) < 3 {
			in := s.Zones[z].Instances[0]
			in.ID = fmt.Sprintf("i-%017d", z*10+len(s.Zones[z].Instances))
			in.CPU = float64((i + z*7) % 100)
			s.Zones[z].Instances = append(s.Zones[z].Instances, in)
		}
	}
	return s
}

// BenchmarkView is the frame time: one View at 160x48 in the middle of a
// busy run (colours on, as in a terminal).
func BenchmarkView(b *testing.B) {
	m := New(Options{Renderer: colourRenderer()})
	m = step(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for i := range 200 {
		m = step(m, busy(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkSnapshotUpdate is what a snapshot costs the view: Update, then View.
func BenchmarkSnapshotUpdate(b *testing.B) {
	m := New(Options{Renderer: colourRenderer()})
	m = step(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	snaps := make([]Snapshot, 64)
	for i := range snaps {
		snaps[i] = busy(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		m = step(m, snaps[i%len(snaps)])
		_ = m.View()
		i++
	}
}

// TestViewCPU runs the real bubbletea program (renderer included, output
// discarded) at the live cadence, a snapshot every Every, for
// LAB_TUI_CPU_SECONDS seconds, and reports the process's CPU time as a
// share of one core. Run it alone:
//
//	LAB_TUI_CPU_SECONDS=30 go test -run TestViewCPU -v ./tui/
func TestViewCPU(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LAB_TUI_CPU_SECONDS"))
	if secs <= 0 {
		t.Skip("set LAB_TUI_CPU_SECONDS to measure")
	}
	snaps := make([]Snapshot, 64)
	for i := range snaps {
		snaps[i] = busy(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	p := tea.NewProgram(New(Options{Renderer: colourRenderer()}), tea.WithOutput(io.Discard), tea.WithInput(nil),
		tea.WithFPS(20), tea.WithContext(ctx), tea.WithoutSignalHandler())
	go func() {
		p.Send(tea.WindowSizeMsg{Width: 160, Height: 48})
		tk := time.NewTicker(Every)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				p.Send(snaps[i%len(snaps)])
			}
		}
	}()
	before, start := cpuTime(), time.Now()
	p.Run()
	used, wall := cpuTime()-before, time.Since(start)
	t.Logf("view CPU: %v over %v wall = %.2f%% of one core (a snapshot every %v, 160x48, 20 FPS)",
		used, wall.Round(time.Millisecond), 100*used.Seconds()/wall.Seconds(), Every)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// colourRenderer renders the 16 colours, as a terminal would.
func colourRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	return r
}
