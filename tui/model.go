package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// MinWidth and MinHeight are the smallest terminal the view lays out in;
// below them it says so instead of drawing a broken layout.
const (
	MinWidth  = 80
	MinHeight = 24
)

// maxLog bounds the event log; the journal keeps everything.
const maxLog = 20000

// Options configure a Model.
type Options struct {
	// Renderer styles the view; nil uses lipgloss's default renderer.
	Renderer *lipgloss.Renderer
	// Stop is called on the first q or Ctrl-C: it should stop the run
	// (cancel lab.Run's context). The view stays up, saying it is stopping,
	// until the run's last snapshot arrives; a second q closes it at once.
	Stop func()
	// Kill, if set, kills a random running instance (k); ZoneOut, if set,
	// kills every instance in a zone (z, after a y/n prompt). Both run off
	// the view's goroutine and may block; their faults reach the log as
	// events.
	Kill    func()
	ZoneOut func(zone string)
	// Watch is `lab watch`: another terminal's run, read-only. q closes the
	// view at once; the run goes on.
	Watch bool
}

// Gone tells a watching view that the run's live socket closed early.
type Gone struct{ Err error }

// Model is the live view. Feed it Snapshots (as messages) and keys.
type Model struct {
	opts Options
	st   styles

	width, height int

	snap Snapshot // what is shown
	held *Snapshot
	// held: while paused, the newest snapshot not yet shown; its Events
	// are the events of every snapshot held.

	log    []Entry
	byCls  [numClasses][]int // indexes into log, per filter class
	filter int
	follow bool // the selection stays on the newest event
	sel    int  // selected index into byCls[filter] when not following

	detail   bool // showing why the selected event happened
	help     bool
	paused   bool
	stopping bool // q was pressed; waiting for the run to end
	quitting bool
	gone     string // watching: why the run's socket went away

	ask  int    // a prompt is up: askZone or askConfirm
	zone string // the zone z would take out
}

// prompts of z
const (
	askNone = iota
	askZone
	askConfirm
)

// New returns a model that has seen nothing yet.
func New(o Options) Model {
	r := o.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	return Model{opts: o, st: newStyles(r), follow: true}
}

// Init implements tea.Model.
func (m Model) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case Snapshot:
		return m.snapshot(msg)
	case tea.KeyMsg:
		if m.ask != askNone {
			return m.answer(msg)
		}
		return m.key(msg)
	case Gone:
		m.gone = "the run's live socket closed"
		if msg.Err != nil && msg.Err != ErrGone {
			m.gone += ": " + msg.Err.Error()
		}
	}
	return m, nil
}

func (m Model) snapshot(s Snapshot) (tea.Model, tea.Cmd) {
	if m.paused && !s.Done {
		if m.held != nil {
			s.Events = append(m.held.Events, s.Events...)
		}
		m.held = &s
		return m, nil
	}
	if m.held != nil {
		s.Events = append(m.held.Events, s.Events...)
		m.held = nil
	}
	m.apply(s)
	if s.Done && m.stopping {
		m.quitting = true
		return m, tea.Quit
	}
	return m, nil
}

// apply shows s and appends its events to the log.
func (m *Model) apply(s Snapshot) {
	for _, e := range s.Events {
		m.log = append(m.log, e)
		i := len(m.log) - 1
		m.byCls[ClassAll] = append(m.byCls[ClassAll], i)
		m.byCls[e.Class] = append(m.byCls[e.Class], i)
	}
	if len(m.log) > maxLog {
		m.trim(len(m.log) - maxLog*9/10)
	}
	s.Events = nil
	m.snap = s
}

// trim drops the n oldest log entries.
func (m *Model) trim(n int) {
	cur, ok := m.selected()
	m.log = append([]Entry(nil), m.log[n:]...)
	for c := range m.byCls {
		m.byCls[c] = nil
	}
	for i, e := range m.log {
		m.byCls[ClassAll] = append(m.byCls[ClassAll], i)
		m.byCls[e.Class] = append(m.byCls[e.Class], i)
	}
	if !m.follow && ok {
		m.follow, m.sel = true, 0
		for j, i := range m.byCls[m.filter] {
			if m.log[i].Seq == cur.Seq && m.log[i].Text == cur.Text {
				m.follow, m.sel = false, j
			}
		}
	}
}

func (m Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "q", "ctrl+c":
		if m.stopping || m.snap.Done || m.opts.Watch {
			m.quitting = true
			return m, tea.Quit
		}
		m.stopping = true
		if m.opts.Stop != nil {
			m.opts.Stop()
		}
	case "k":
		if m.opts.Kill != nil && m.live() {
			return m, func() tea.Msg { m.opts.Kill(); return nil }
		}
	case "z":
		if m.opts.ZoneOut != nil && m.live() && len(m.snap.Zones) > 0 {
			m.ask, m.help, m.detail = askZone, false, false
		}
	case "p":
		m.paused = !m.paused
		if !m.paused && m.held != nil {
			s := *m.held
			m.held = nil
			m.apply(s)
		}
	case "?":
		m.help = !m.help
	case "esc":
		m.help, m.detail = false, false
	case "enter":
		if _, ok := m.selected(); ok {
			m.detail = !m.detail
		}
	case "f":
		m.setFilter((m.filter + 1) % numClasses)
	case "1", "2", "3", "4", "5", "6":
		m.setFilter(int(k.String()[0] - '1'))
	case "up":
		m.move(-1)
	case "down":
		m.move(1)
	case "pgup":
		m.move(-max(1, m.logRows()-1))
	case "pgdown":
		m.move(max(1, m.logRows()-1))
	case "home":
		m.move(-len(m.log))
	case "end":
		m.follow = true
	}
	return m, nil
}

// live: the run is going and the view may act on it.
func (m Model) live() bool { return !m.snap.Done && !m.stopping && !m.opts.Watch && m.snap.Up }

// answer takes a key while z's prompt is up: a zone's letter, then y or n.
func (m Model) answer(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	key := k.String()
	if key == "ctrl+c" {
		m.ask = askNone
		return m.key(k)
	}
	switch m.ask {
	case askZone:
		m.ask = askNone
		for i, z := range m.snap.Zones {
			if key == zoneKey(z.Name, i) {
				m.ask, m.zone = askConfirm, z.Name
			}
		}
	case askConfirm:
		m.ask = askNone
		if key == "y" && m.live() {
			zone, out := m.zone, m.opts.ZoneOut
			return m, func() tea.Msg { out(zone); return nil }
		}
	}
	return m, nil
}

// zoneKey is the key that picks a zone at z's prompt: the letter its name
// ends with (us-east-1b: b), else its position.
func zoneKey(name string, i int) string {
	if c := name[len(name)-1]; c >= 'a' && c <= 'z' {
		return string(c)
	}
	return fmt.Sprint(i + 1)
}

// Asking is the prompt on screen, if any ("" none).
func (m Model) Asking() string {
	switch m.ask {
	case askZone:
		return "zone"
	case askConfirm:
		return "confirm " + m.zone
	}
	return ""
}

func (m *Model) setFilter(c int) {
	if c != m.filter {
		m.filter, m.follow, m.detail = c, true, false
	}
}

// move shifts the selection by d events; moving past the newest follows it.
func (m *Model) move(d int) {
	n := len(m.byCls[m.filter])
	if n == 0 {
		return
	}
	if m.follow {
		m.sel = n - 1
	}
	m.sel = min(max(m.sel+d, 0), n-1)
	m.follow = m.sel == n-1 && d > 0
	if m.follow {
		m.sel = 0
	}
}

// selected is the selected event: the newest when following.
func (m Model) selected() (Entry, bool) {
	idx := m.byCls[m.filter]
	if len(idx) == 0 {
		return Entry{}, false
	}
	j := len(idx) - 1
	if !m.follow {
		j = min(m.sel, j)
	}
	return m.log[idx[j]], true
}

// Paused, Stopping, Filter and Selected expose the state for tests and callers.
func (m Model) Paused() bool   { return m.paused }
func (m Model) Stopping() bool { return m.stopping }
func (m Model) Filter() string { return classNames[m.filter] }

// Selected is the selected event, if any.
func (m Model) Selected() (Entry, bool) { return m.selected() }

// Shown is the snapshot on screen.
func (m Model) Shown() Snapshot { return m.snap }

// Log is the events the current filter shows, oldest first.
func (m Model) Log() []Entry {
	var out []Entry
	for _, i := range m.byCls[m.filter] {
		out = append(out, m.log[i])
	}
	return out
}
