package server

import (
	"os"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
)

// processRSS is the resident set size of this process in bytes: from
// /proc/self/statm where there is one (Linux), otherwise the memory the Go
// runtime has mapped from the operating system.
func processRSS() int64 {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 2 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return pages * int64(os.Getpagesize())
			}
		}
	}
	s := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() == rtmetrics.KindUint64 {
		return int64(s[0].Value.Uint64())
	}
	return 0
}
