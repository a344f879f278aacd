package termtext

import "testing"

func TestLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ok", "ok"},
		{"\x1b[2J\x1b[31mred\x1b[0m", "[2J[31mred[0m"},
		{"down\n+00:05  Target i-1 is healthy", "down +00:05  Target i-1 is healthy"},
		{"a\tb\rc", "a b c"},
		{"bell\x07 nul\x00 del\x7f", "bell nul del"},
		{"c1 \u009b31m csi", "c1 31m csi"},
		{"rtl \u202eevil\u202c \u2066x\u2069", "rtl evil x"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"zone ü — ok", "zone ü — ok"},
	}
	for _, c := range cases {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	if got, want := Text("a\r\nb\rc\n\x1b]0;title\x07d"), "a\nb\nc\n]0;titled"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}
