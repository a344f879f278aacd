package termtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s as one line of plain text: line breaks and tabs become
// spaces; every other control character (C0, DEL, C1, which includes ESC and
// CSI), and Unicode's bidirectional controls are dropped; invalid UTF-8
// becomes U+FFFD.
func Line(s string) string { return clean(s, false) }

// Text is Line that keeps line breaks ("\n"; "\r\n" and a lone "\r" become
// "\n"), for text of several lines the lab means to print as such.
func Text(s string) string { return clean(s, true) }

// Lines applies Line to each of lines, in place, and returns them.
func Lines(lines []string) []string {
	for i, l := range lines {
		lines[i] = Line(l)
	}
	return lines
}

func clean(s string, keepNL bool) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r' && keepNL:
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
		case r == '\n' && keepNL:
			b.WriteByte('\n')
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safe reports whether s is printable ASCII only, the common case.
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
