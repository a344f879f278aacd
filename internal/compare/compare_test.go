package compare

import "testing"

func TestOperators(t *testing.T) {
	cases := []struct {
		op                Op
		name, words, sign string
		below, at, above  bool
		isAbove, isBelow  bool
	}{
		{GreaterOrEqual, "GreaterThanOrEqualToThreshold", "greater than or equal to", "≥", false, true, true, true, false},
		{Greater, "GreaterThanThreshold", "greater than", ">", false, false, true, true, false},
		{LessOrEqual, "LessThanOrEqualToThreshold", "less than or equal to", "≤", true, true, false, false, true},
		{Less, "LessThanThreshold", "less than", "<", true, false, false, false, true},
		{Equal, "", "equal to", "=", false, true, false, false, false},
	}
	for _, c := range cases {
		if !c.op.Valid() || c.op.CloudWatchName() != c.name || c.op.Words() != c.words || c.op.Sign() != c.sign {
			t.Errorf("%q: valid %v name %q words %q sign %q", c.op, c.op.Valid(), c.op.CloudWatchName(), c.op.Words(), c.op.Sign())
		}
		if c.op.Compare(1, 2) != c.below || c.op.Compare(2, 2) != c.at || c.op.Compare(3, 2) != c.above {
			t.Errorf("%q: 1,2,3 against 2: %v %v %v", c.op, c.op.Compare(1, 2), c.op.Compare(2, 2), c.op.Compare(3, 2))
		}
		if c.op.Above() != c.isAbove || c.op.Below() != c.isBelow {
			t.Errorf("%q: Above %v Below %v", c.op, c.op.Above(), c.op.Below())
		}
		if o, ok := ParseSymbol(c.op.Symbol()); !ok || o != c.op {
			t.Errorf("ParseSymbol(%q) = %q, %v", c.op.Symbol(), o, ok)
		}
		if c.name != "" {
			if o, ok := ParseName(c.name); !ok || o != c.op {
				t.Errorf("ParseName(%q) = %q, %v", c.name, o, ok)
			}
		}
	}
	for _, bad := range []string{"", "=", "=>", "!=", "GreaterThan", "greaterthanthreshold"} {
		if _, ok := ParseSymbol(bad); ok {
			t.Errorf("ParseSymbol(%q) accepted", bad)
		}
		if _, ok := ParseName(bad); ok {
			t.Errorf("ParseName(%q) accepted", bad)
		}
	}
	if Op("=>").Compare(3, 2) || Op("").Valid() {
		t.Error("an invalid operator holds or is valid")
	}
	if len(CloudWatchNames()) != 4 {
		t.Errorf("CloudWatchNames() = %v", CloudWatchNames())
	}
	for _, n := range CloudWatchNames() {
		if _, ok := ParseName(n); !ok {
			t.Errorf("%s does not parse", n)
		}
	}
}
