//go:build unix

package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// RaiseFileLimit raises the soft limit on open files to the hard limit (the
// most connections a server or load generator can hold) and reports both,
// and the soft limit it found.
func RaiseFileLimit() (FileLimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return FileLimit{}, fmt.Errorf("get file limit: %w", err)
	}
	// The fields are int64 on some systems (FreeBSD), uint64 on others.
	fl := FileLimit{SoftBefore: uint64(lim.Cur), Soft: uint64(lim.Cur), Hard: uint64(lim.Max)}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fl, fmt.Errorf("raise file limit to %d: %w", lim.Max, err)
		}
		fl.Soft = uint64(lim.Max)
	}
	return fl, nil
}

// processCPU returns the CPU time (user plus system) this process used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procSample is what /proc tells about a process at one moment.
type procSample struct {
	RSS     int64         // resident set size, bytes
	Threads int           // OS threads
	CPU     time.Duration // user plus system time since it started
	// Wait is the time its threads were runnable but waiting for a CPU:
	// time other processes took from it (0 when unknown).
	Wait time.Duration
}

// readProc reads /proc/PID/status (VmRSS, Threads) and /proc/PID/stat
// (utime, stime). It works on Linux only.
func readProc(pid int) (procSample, error) {
	var s procSample
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return s, fmt.Errorf("read process status: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		name, value, _ := strings.Cut(line, ":")
		f := strings.Fields(value)
		if len(f) == 0 {
			continue
		}
		switch name {
		case "VmRSS":
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			s.RSS = kb << 10
		case "Threads":
			s.Threads, _ = strconv.Atoi(f[0])
		}
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return s, fmt.Errorf("read process stat: %w", err)
	}
	cpu, err := statCPU(stat)
	if err != nil {
		return s, err
	}
	s.CPU = cpu
	if cpu, wait, ok := schedCPU(pid); ok {
		s.CPU, s.Wait = cpu, wait
	}
	return s, nil
}

// schedCPU sums the first two fields of /proc/PID/task/*/schedstat, each
// thread's time on a CPU and time waiting for one, in nanoseconds: exact
// where utime and stime come in 10 ms ticks. Threads that already exited
// are missing from it (the Go runtime rarely ends threads); ok is false
// when schedstat is not there.
func schedCPU(pid int) (cpu, wait time.Duration, ok bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil || len(tasks) == 0 {
		return 0, 0, false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return 0, 0, false
		}
		run, err1 := strconv.ParseInt(f[0], 10, 64)
		queued, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		cpu += time.Duration(run)
		wait += time.Duration(queued)
	}
	return cpu, wait, cpu > 0
}

// statCPU parses utime and stime (fields 14 and 15) of /proc/PID/stat. The
// command name in field 2 may hold spaces and parentheses, so fields are
// counted after its last ')'.
func statCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse process stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse process stat: %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse process stat: utime %q stime %q", f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
