package report

import (
	"fmt"
	"math"
	"strings"
	"time"
)

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// clockAt formats AWS seconds since the start as +mm:ss (or +h:mm:ss).
func clockAt(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%s%d:%02d:%02d", sign, h, m, sec)
	}
	return fmt.Sprintf("%s%02d:%02d", sign, m, sec)
}

func fmtMs(ms float64) string {
	switch {
	case ms >= 1000:
		return trimNum(r3(ms/1000)) + " s"
	case ms >= 10:
		return trimNum(math.Round(ms)) + " ms"
	case ms >= 1:
		return trimNum(math.Round(ms*10)/10) + " ms"
	}
	return trimNum(math.Round(ms*100)/100) + " ms"
}

func trimNum(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

func signed(v float64) string {
	s := trimNum(r3(v))
	if v > 0 {
		return "+" + s
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func r1(v float64) float64 { return math.Round(v*10) / 10 }
func r3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}
