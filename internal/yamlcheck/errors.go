package yamlcheck

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a file, at the value that is wrong (or at the
// mapping that lacks a required key).
type Error struct {
	File      string
	Line, Col int    // 1-based; 0 when unknown
	Field     string // YAML path, e.g. scaling_policies[1].alarm.threshold
	Msg       string // what is wrong; what is allowed
}

// Error formats the problem as FILE:LINE:COL: field.path: message.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, sorted by position.
type Errors struct {
	List []Error
}

// Error lists the problems one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by line, then column, keeping the order in which
// they were found for problems at the same place.
func Sort(list []Error) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Line != list[j].Line {
			return list[i].Line < list[j].Line
		}
		return list[i].Col < list[j].Col
	})
}

// Closest returns the candidate a user most likely meant by s, or "" when
// none is close. Case, "_" and "-" are ignored, so idleTimeout finds
// idle_timeout.
func Closest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(x))
	}
	best, bestDist := "", -1
	for _, c := range candidates {
		a, b := norm(s), norm(c)
		d := editDistance(a, b)
		limit := max(2, len(b)/4)
		if d > limit && !(len(a) >= 4 && (strings.Contains(b, a) || strings.Contains(a, b))) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// OneOfMsg says that v is not among allowed, with a hint when one is close.
func OneOfMsg(v string, allowed []string) string {
	msg := fmt.Sprintf("%q is not allowed; use one of %s", v, strings.Join(allowed, ", "))
	if c := Closest(v, allowed); c != "" {
		msg += "; did you mean " + c + "?"
	}
	return msg
}
