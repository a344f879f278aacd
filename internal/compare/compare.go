// Package compare is the one comparison operator of the lab: a CloudWatch
// alarm's ComparisonOperator (GreaterThanThreshold, ...), an SLO's or stop
// condition's symbol (>, >=, ...), AWS's words for it ("greater than") and
// the test itself. It is a leaf: it imports nothing of the lab.
package compare

// Op is a comparison operator, spelled as its symbol: ">=", ">", "<=", "<"
// or "==". The zero Op is not an operator.
type Op string

// The operators.
const (
	GreaterOrEqual Op = ">="
	Greater        Op = ">"
	LessOrEqual    Op = "<="
	Less           Op = "<"
	Equal          Op = "==" // SLOs and conditions only; CloudWatch has no such operator
)

// CloudWatch's names of the operators (PutMetricAlarm's ComparisonOperator).
const (
	GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          = "GreaterThanThreshold"
	LessThanThreshold             = "LessThanThreshold"
	LessThanOrEqualToThreshold    = "LessThanOrEqualToThreshold"
)

type info struct {
	op    Op
	name  string // CloudWatch's
	words string // AWS's, in alarm reasons
	sign  string // typographic, for pages
}

// table lists the operators in the order the docs give them.
var table = []info{
	{GreaterOrEqual, GreaterThanOrEqualToThreshold, "greater than or equal to", "≥"},
	{Greater, GreaterThanThreshold, "greater than", ">"},
	{LessOrEqual, LessThanOrEqualToThreshold, "less than or equal to", "≤"},
	{Less, LessThanThreshold, "less than", "<"},
	{Equal, "", "equal to", "="},
}

func (o Op) info() (info, bool) {
	for _, i := range table {
		if i.op == o {
			return i, true
		}
	}
	return info{}, false
}

// Valid says whether o is one of the operators.
func (o Op) Valid() bool { _, ok := o.info(); return ok }

// Symbol is the operator as SLOs write it: ">=", ">", "<=", "<", "==".
func (o Op) Symbol() string { return string(o) }

// Sign is the operator as a page prints it: "≥", ">", "≤", "<", "=".
func (o Op) Sign() string { i, _ := o.info(); return i.sign }

// Words are AWS's words for the operator, as alarm reasons use them:
// "greater than or equal to", "greater than", "less than", ...
func (o Op) Words() string { i, _ := o.info(); return i.words }

// CloudWatchName is the operator's ComparisonOperator, as
// "GreaterThanThreshold"; "" for Equal, which CloudWatch lacks.
func (o Op) CloudWatchName() string { i, _ := o.info(); return i.name }

// Compare says whether v stands in the relation o to threshold: for
// Greater, whether v > threshold. An invalid operator never holds.
func (o Op) Compare(v, threshold float64) bool {
	switch o {
	case GreaterOrEqual:
		return v >= threshold
	case Greater:
		return v > threshold
	case LessOrEqual:
		return v <= threshold
	case Less:
		return v < threshold
	case Equal:
		return v == threshold
	}
	return false
}

// Above says whether o holds for values above the threshold (> and >=):
// an alarm on it fires high; an SLO with it is a floor.
func (o Op) Above() bool { return o == Greater || o == GreaterOrEqual }

// Below says whether o holds for values below the threshold (< and <=).
func (o Op) Below() bool { return o == Less || o == LessOrEqual }

// ParseName reads a CloudWatch ComparisonOperator.
func ParseName(name string) (Op, bool) {
	for _, i := range table {
		if i.name != "" && i.name == name {
			return i.op, true
		}
	}
	return "", false
}

// ParseSymbol reads a symbol: ">=", ">", "<=", "<" or "==".
func ParseSymbol(symbol string) (Op, bool) {
	if o := Op(symbol); o.Valid() {
		return o, true
	}
	return "", false
}

// Symbols lists the five symbols: ">=", ">", "<=", "<", "==".
func Symbols() []string {
	var out []string
	for _, i := range table {
		out = append(out, string(i.op))
	}
	return out
}

// CloudWatchNames lists CloudWatch's four ComparisonOperators, in the
// order AWS's documentation lists them.
func CloudWatchNames() []string {
	return []string{GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold}
}
