package tui

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// duration formats d for people, to the second: "9s", "4m05s",
// "167h59m12s". Negative durations read as zero.
func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		return strconv.Itoa(m) + "m" + pad2(s) + "s"
	}
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	return strconv.Itoa(h) + "h" + pad2(m) + "m" + pad2(s) + "s"
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// tags formats publication tags as k=v pairs in key order.
func tags(t map[string]string) string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + t[k]
	}
	return strings.Join(keys, " ")
}

// shortID keeps the first block of a UUID.
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// fit truncates every line to width and makes exactly height lines,
// padding with empty ones.
func fit(lines []string, width, height int) []string {
	if len(lines) > height {
		lines = lines[:height]
	}
	out := make([]string, height)
	for i, l := range lines {
		out[i] = ansi.Truncate(l, width, "…")
	}
	return out
}

// wrap breaks text into lines of at most width cells, at most n lines,
// the last one truncated.
func wrap(text string, width, n int) []string {
	if width <= 0 || n <= 0 {
		return nil
	}
	lines := strings.Split(ansi.Wrap(text, width, " "), "\n")
	if len(lines) > n {
		rest := strings.Join(lines[n-1:], " ")
		lines = append(lines[:n-1], ansi.Truncate(rest, width, "…"))
	}
	return lines
}

// cells returns how wide s is on screen.
func cells(s string) int { return ansi.StringWidth(s) }
