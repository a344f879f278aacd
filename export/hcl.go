package export

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// tf builds one Terraform file as text; bytes formats it the way
// `terraform fmt` does (aligned =, two-space indents).
type tf struct {
	b      strings.Builder
	tgRefs map[string]string // target group name to reference, for forwards (services.go)
}

// comment writes each line as a # comment.
func (w *tf) comment(lines ...string) {
	for _, l := range lines {
		w.b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
}

// open starts a block: open("resource", `"aws_vpc"`, `"this"`).
func (w *tf) open(words ...string) { w.b.WriteString(strings.Join(words, " ") + " {\n") }

// block is open for a resource or data source of type typ named name.
func (w *tf) resource(kind, typ, name string) { w.open(kind, q(typ), q(name)) }

func (w *tf) close() { w.b.WriteString("}\n") }

// end closes a top-level block and leaves a blank line after it.
func (w *tf) end() { w.b.WriteString("}\n\n") }

// attr writes name = expr, with an optional trailing comment.
func (w *tf) attr(name, expr string, comment ...string) {
	w.b.WriteString(name + " = " + expr)
	if len(comment) > 0 && comment[0] != "" {
		w.b.WriteString(" # " + comment[0])
	}
	w.b.WriteString("\n")
}

func (w *tf) bytes() []byte {
	out := hclwrite.Format([]byte(strings.TrimRight(w.b.String(), "\n") + "\n"))
	return out
}

// q is s as an HCL string literal; ${ and %{ are escaped so nothing in a
// stack value is ever read as a template.
func q(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// list is an HCL tuple of already-rendered expressions.
func list(exprs ...string) string { return "[" + strings.Join(exprs, ", ") + "]" }

// qlist is an HCL tuple of string literals.
func qlist(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return list(out...)
}

func itoa(n int) string { return strconv.Itoa(n) }

// num writes a float the shortest way that reads back exactly.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// secs is a duration in whole seconds, as AWS counts it.
func secs(d time.Duration) int { return int(d / time.Second) }

func boolean(b bool) string { return strconv.FormatBool(b) }
