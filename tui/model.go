// Package tui is the full-screen view of `uniws watch`: a bubbletea program
// that shows, live, what a unidirectional client receives. It renders what
// a Source reports and nothing else: the connection, its reconnects and
// its liveness check live in the client, and the program never touches the
// network.
//
// Events are read in batches by a command that gathers whatever arrives
// within one frame (Options.Frame), so a burst costs one update and one
// draw per frame however many events it holds. The log is bounded
// (Options.Buffer) and entries are laid out lazily, only when they scroll
// into view, so drawing costs the same for ten events as for ten thousand.
package tui

import (
	"sort"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/uniws/uniws/core"
)

// Model is the screen's state. It is a bubbletea model: a value that
// Update changes and returns, and that View draws. Like every bubbletea
// model it must be used from one goroutine at a time.
type Model struct {
	opts   Options
	keys   KeyMap
	styles Styles
	paint  jsonPaint
	help   help.Model
	input  textinput.Model

	src  <-chan Event
	done <-chan struct{}

	width, height int
	now           time.Time
	spin          int

	conn  conn
	chans map[string]*chanStat
	order []string

	log     []*entry
	pending []*entry
	shown   []*entry
	seq     uint64
	sel     int
	top     int
	skip    int
	follow  bool
	dropped int
	queued  int

	counts counts
	rate   rate

	filtering bool
	filter    string
	paused    bool
	showPings bool
	showHelp  bool
}

// conn is what the header and heartbeat show.
type conn struct {
	state      ConnState
	attempt    int
	nextAt     time.Time
	disconnect *core.Disconnect
	err        error
	hint       string
	ended      bool

	client, session, version string
	expiresAt                time.Time
	ping                     time.Duration
	connectedAt              time.Time
	lastPing                 time.Time
	lastFrame                time.Time
	pings                    int
}

// chanStat is one row of the channels panel.
type chanStat struct {
	name      string
	granted   bool
	refused   bool
	msgs      int
	offset    uint64
	epoch     string
	recovered int
	resumed   bool
	gap       bool
	note      string
}

// counts are the footer's totals.
type counts struct {
	pushes     int
	pubs       int
	reconnects int
	gaps       int
}

// NewModel returns a screen fed by src; a nil src shows a screen that
// never changes by itself. The model reads src only while a program runs
// it; it stops reading when src is closed.
func NewModel(src Source, opts Options) Model {
	opts = opts.withDefaults()
	m := Model{
		opts:   opts,
		keys:   DefaultKeyMap(),
		styles: DefaultStyles(opts.Renderer),
		help:   help.New(),
		input:  newFilterInput(),
		chans:  map[string]*chanStat{},
		follow: true,
		now:    opts.Now(),
		width:  80,
		height: 24,
	}
	m.paint = newJSONPaint(m.styles)
	m.help.Styles = m.styles.Help
	m.input.PromptStyle = m.styles.Filter
	m.input.TextStyle = m.styles.Value
	m.input.PlaceholderStyle = m.styles.Muted
	m.input.CompletionStyle = m.styles.Muted
	m.input.Cursor.Style = m.styles.Value.Reverse(true)
	m.input.Cursor.TextStyle = m.styles.Value
	if src != nil {
		m.src = src.Events()
	}
	m.conn.state = StateConnecting
	for _, ch := range opts.Requested {
		m.channel(ch)
	}
	return m
}

// Init starts reading the source and the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.read(), tick())
}

// channel returns the panel row for name, adding it if needed.
func (m *Model) channel(name string) *chanStat {
	if c, ok := m.chans[name]; ok {
		return c
	}
	c := &chanStat{name: name}
	m.chans[name] = c
	m.sortChannels()
	return c
}

// sortChannels orders the panel: granted channels first, then the others,
// each by name.
func (m *Model) sortChannels() {
	m.order = m.order[:0]
	for name := range m.chans {
		m.order = append(m.order, name)
	}
	sort.Slice(m.order, func(i, j int) bool {
		a, b := m.chans[m.order[i]], m.chans[m.order[j]]
		if a.refused != b.refused {
			return !a.refused
		}
		return a.name < b.name
	})
}

// rateWindow is the number of seconds msgs/s is averaged over.
const rateWindow = 5

// rate counts pushes per wall-clock second for the last rateWindow
// seconds.
type rate struct {
	secs   [rateWindow + 1]int64
	counts [rateWindow + 1]int
}

func (r *rate) add(t time.Time) {
	s := t.Unix()
	i := int(uint64(s) % uint64(len(r.secs)))
	if r.secs[i] != s {
		r.secs[i], r.counts[i] = s, 0
	}
	r.counts[i]++
}

// perSecond is the average over the last rateWindow seconds up to now.
func (r *rate) perSecond(now time.Time) float64 {
	n, sum := now.Unix(), 0
	for i, s := range r.secs {
		if s > n-rateWindow && s <= n {
			sum += r.counts[i]
		}
	}
	return float64(sum) / rateWindow
}
