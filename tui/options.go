package tui

import (
	"io"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Defaults applied to zero Options fields.
const (
	// DefaultBuffer is how many log entries the screen keeps.
	DefaultBuffer = 1000
	// DefaultPingGrace is added to the ping interval to tell when a silent
	// connection looks dead.
	DefaultPingGrace = 10 * time.Second
	// DefaultFrame is how long the screen gathers events into one batch
	// before it applies them and draws: at most one frame per DefaultFrame
	// however fast events arrive.
	DefaultFrame = 50 * time.Millisecond
	// DefaultCollapse is the number of payload lines shown before a
	// payload is collapsed.
	DefaultCollapse = 8
	// DefaultMaxBatch caps the events applied in one frame.
	DefaultMaxBatch = 4096
)

// tickInterval is how often the clock-driven parts (ping gauge, TTL,
// rates, spinner) are redrawn.
const tickInterval = 200 * time.Millisecond

// Options configure a screen. All fields are optional.
type Options struct {
	// ServerURL and User are shown in the header.
	ServerURL string
	User      string
	// Requested are the channels the user asked for. Any of them missing
	// from the connect push's subs is shown as refused.
	Requested []string
	// Buffer bounds the log (and the entries held while paused); the
	// oldest entries are dropped first. Defaults to DefaultBuffer.
	Buffer int
	// PingGrace is added to the server's ping interval; when nothing has
	// arrived for longer than both, the screen warns that the connection
	// looks dead. Defaults to DefaultPingGrace.
	PingGrace time.Duration
	// Frame is how long events are gathered into one batch. Defaults to
	// DefaultFrame.
	Frame time.Duration
	// Collapse is how many lines of a payload are shown before it is
	// collapsed (Enter expands it). Defaults to DefaultCollapse.
	Collapse int
	// Now is the clock; it is called only from the program's goroutine.
	// Defaults to time.Now.
	Now func() time.Time
	// Renderer draws the styles. Run defaults it to a renderer on its
	// output, which honours NO_COLOR, CLICOLOR and the terminal's colour
	// support; NewModel defaults it to one without colours.
	Renderer *lipgloss.Renderer
	// NoColor turns colours off whatever the renderer detected.
	NoColor bool
}

func (o Options) withDefaults() Options {
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.PingGrace <= 0 {
		o.PingGrace = DefaultPingGrace
	}
	if o.Frame <= 0 {
		o.Frame = DefaultFrame
	}
	if o.Collapse <= 1 {
		o.Collapse = DefaultCollapse
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Renderer == nil || o.NoColor {
		o.Renderer = plainRenderer()
	}
	o.Requested = append([]string(nil), o.Requested...)
	return o
}

// plainRenderer draws styles without colours.
func plainRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}
