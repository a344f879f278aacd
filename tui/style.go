package tui

import (
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// styles use the 16 ANSI colours only, so the terminal's own palette (light
// or dark) decides how they look, and never a background colour. Status is
// always a glyph as well as a colour.
type styles struct {
	ok, warn, bad, info, dim, bold, title, sel lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	c := func(n string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(n)) }
	return styles{
		ok: c("2"), warn: c("3"), bad: c("1"), info: c("6"),
		dim: r.NewStyle().Faint(true), bold: r.NewStyle().Bold(true),
		title: r.NewStyle().Bold(true), sel: r.NewStyle().Reverse(true),
	}
}

// NewRenderer is a renderer for out with NO_COLOR respected.
func NewRenderer(out io.Writer) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(out)
	if os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// glyph and style for a target health state.
func (s styles) health(state string) string {
	switch state {
	case "healthy":
		return s.ok.Render("● healthy")
	case "initial":
		return s.warn.Render("◌ initial")
	case "unhealthy":
		return s.bad.Render("✗ unhealthy")
	case "draining":
		return s.warn.Render("↓ draining")
	case "unused", "":
		return s.dim.Render("○ unused")
	}
	return state
}

func (s styles) lifecycle(state string) string {
	switch state {
	case "InService":
		return s.ok.Render(state)
	case "Pending":
		return s.warn.Render(state)
	case "Terminating", "Terminated":
		return s.bad.Render(state)
	}
	return state
}

func (s styles) slo(status string) string {
	switch status {
	case Holding:
		return s.ok.Render("✓")
	case AtRisk:
		return s.warn.Render("!")
	case Breached:
		return s.bad.Render("✗")
	}
	return s.dim.Render("…")
}

func (s styles) alarm(state string) string {
	switch state {
	case "OK":
		return s.ok.Render("✓ OK")
	case "ALARM":
		return s.bad.Render("▲ ALARM")
	}
	return s.warn.Render("? INSUFFICIENT_DATA")
}

func (s styles) verdict(v string) string {
	switch v {
	case "PASS":
		return s.ok.Bold(true).Render("✓ PASS")
	case "INTERRUPTED", "INVALID":
		return s.warn.Bold(true).Render("! " + v)
	}
	return s.bad.Bold(true).Render("✗ " + v)
}

// fit pads or cuts a styled line to exactly w cells.
func fit(line string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(line)
	if n > w {
		return ansi.Truncate(line, w-1, "") + "…"
	}
	return line + strings.Repeat(" ", w-n)
}

// cut shortens plain text to w cells with an ellipsis.
func cut(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	if w <= 1 {
		return ansi.Truncate(s, w, "")
	}
	return ansi.Truncate(s, w-1, "") + "…"
}
