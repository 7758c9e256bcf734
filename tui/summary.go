package tui

import (
	"strconv"
	"strings"

	"github.com/uniws/uniws/core"
)

// stateSummary is the log line for a state change.
func stateSummary(ev Event) string {
	parts := []string{ev.State.String()}
	if ev.Attempt > 0 {
		parts = append(parts, "attempt "+strconv.Itoa(ev.Attempt))
	}
	if ev.State == StateReconnecting {
		parts = append(parts, "next try in "+duration(ev.NextTry))
	}
	if ev.Disconnect != nil {
		parts = append(parts, explain(*ev.Disconnect))
	}
	if ev.Err != nil {
		parts = append(parts, ev.Err.Error())
	}
	return strings.Join(parts, " · ")
}

// explain says what a disconnect means, in words.
func explain(d core.Disconnect) string {
	code := core.Code(d.Code)
	head := strconv.FormatUint(uint64(d.Code), 10)
	if d.Reason != "" && d.Reason != code.Reason() {
		head += " " + d.Reason
	}
	return head + ": " + code.Explain()
}

func pubSummary(p *core.Publication) string {
	var parts []string
	if p.Info != nil && p.Info.User != "" {
		parts = append(parts, "from "+p.Info.User)
	}
	if len(p.Tags) > 0 {
		parts = append(parts, "tags "+tags(p.Tags))
	}
	return strings.Join(parts, " · ")
}

func clientSummary(ci core.ClientInfo) string {
	return "user " + ci.User + " · client " + ci.Client
}

func subscribeSummary(recoverable, positioned bool, epoch string, offset uint64) string {
	var parts []string
	if recoverable {
		parts = append(parts, "recoverable")
	}
	if positioned {
		parts = append(parts, "positioned")
	}
	if epoch != "" {
		parts = append(parts, "epoch "+epoch)
	}
	if offset > 0 {
		parts = append(parts, "offset "+strconv.FormatUint(offset, 10))
	}
	return strings.Join(parts, " · ")
}
