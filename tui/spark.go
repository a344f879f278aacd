package tui

import (
	"math"
	"strings"
)

var blocks = []rune(" ▁▂▃▄▅▆▇█")

// sparkline draws the last w values scaled to top (values above it are full
// blocks), one cell each, right-aligned; a zero is a blank and any positive
// value at least the lowest block.
func sparkline(vals []float64, w int, top float64) string {
	if w <= 0 {
		return ""
	}
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", w-len(vals)))
	for _, v := range vals {
		b.WriteRune(block(v, top))
	}
	return b.String()
}

func block(v, top float64) rune {
	if v <= 0 || top <= 0 || math.IsNaN(v) {
		return blocks[0]
	}
	i := int(math.Ceil(v / top * 8))
	return blocks[min(max(i, 1), 8)]
}

func maxOf(vs ...[]float64) float64 {
	m := 0.0
	for _, s := range vs {
		for _, v := range s {
			m = max(m, v)
		}
	}
	return m
}

// tail is the last n values of vs.
func tail(vs []float64, n int) []float64 {
	if len(vs) > n {
		return vs[len(vs)-n:]
	}
	return vs
}

// cpuBar draws CPU% in w cells with a mark at each threshold.
func cpuBar(cpu float64, w int, thresholds []float64) []rune {
	bar := make([]rune, w)
	fill := int(math.Round(min(max(cpu, 0), 100) / 100 * float64(w)))
	for i := range bar {
		if i < fill {
			bar[i] = '█'
		} else {
			bar[i] = '░'
		}
	}
	for _, t := range thresholds {
		i := int(math.Round(t / 100 * float64(w)))
		i = min(max(i, 0), w-1)
		if i >= fill {
			bar[i] = '│'
		} else {
			bar[i] = '▌'
		}
	}
	return bar
}
