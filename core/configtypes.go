package core

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes Go duration strings
// ("25s"). A bare integer is taken as seconds.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "25s" or 25 (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("bad duration %q (want e.g. \"25s\")", s)
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("bad duration %s (want e.g. \"25s\")", b)
	}
	// Out of range, the conversion below would give an arbitrary value.
	if ns := n * float64(time.Second); ns >= math.MaxInt64 || ns <= math.MinInt64 {
		return fmt.Errorf("duration %s seconds out of range", b)
	}
	*d = Duration(n * float64(time.Second))
	return nil
}

// Port is a TCP port that reads from a number or a string.
type Port int

// UnmarshalJSON reads 8000 or "8000".
func (p *Port) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("bad port %q", s)
		}
		*p = Port(v)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("bad port %s", b)
	}
	*p = Port(n)
	return nil
}
