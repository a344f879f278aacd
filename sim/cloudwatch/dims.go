package cloudwatch

import (
	"fmt"
	"sort"
	"strings"
)

// Dimension is one name=value pair of a metric's identity.
type Dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Dimensions is a metric's dimension set, sorted by name, one value per
// name. Build it with Dims so that equal sets compare equal.
type Dimensions []Dimension

// Dims builds a sorted dimension set from name, value pairs:
// Dims("AutoScalingGroupName", "simplydone"). A repeated name keeps its last
// value. An odd number of arguments is a programming error and panics.
func Dims(nameValues ...string) Dimensions {
	if len(nameValues)%2 != 0 {
		panic(fmt.Sprintf("cloudwatch.Dims: odd number of arguments (%d)", len(nameValues)))
	}
	byName := make(map[string]string, len(nameValues)/2)
	for i := 0; i < len(nameValues); i += 2 {
		byName[nameValues[i]] = nameValues[i+1]
	}
	d := make(Dimensions, 0, len(byName))
	for n, v := range byName {
		d = append(d, Dimension{Name: n, Value: v})
	}
	sort.Slice(d, func(i, j int) bool { return d[i].Name < d[j].Name })
	return d
}

// String is the canonical form: "AutoScalingGroupName=simplydone,InstanceId=i-1".
// It sorts a copy, so a hand-built unsorted set still has one form.
func (d Dimensions) String() string {
	s := make(Dimensions, len(d))
	copy(s, d)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	var b strings.Builder
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x.Name)
		b.WriteByte('=')
		b.WriteString(x.Value)
	}
	return b.String()
}
