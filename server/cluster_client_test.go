package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// streamClient follows one positioned channel over reconnects, the way a
// recovering client does: it reconnects with recover:true from its last
// position and checks that what it receives is the stream in order. It
// records every reported gap (a recovery the server refused) and every
// contract break (a publication that is not the next offset).
type streamClient struct {
	ch    string
	token string
	// target returns the node to connect to next ("" to wait).
	target func() string

	mu        sync.Mutex
	have      bool
	epoch     string
	offset    uint64
	data      map[uint64]string // offset -> data, in the current epoch
	connects  int
	recovered int
	gaps      int
	breaks    []string
	closes    []int
}

func newStreamClient(ch, token string, target func() string) *streamClient {
	return &streamClient{ch: ch, token: token, target: target, data: make(map[uint64]string)}
}

// run connects and reconnects until ctx ends.
func (c *streamClient) run(ctx context.Context) {
	for ctx.Err() == nil {
		if url := c.target(); url != "" {
			c.session(ctx, url)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type subResult struct {
	Epoch         string        `json:"epoch"`
	Offset        uint64        `json:"offset"`
	Recovered     bool          `json:"recovered"`
	WasRecovering bool          `json:"was_recovering"`
	Positioned    bool          `json:"positioned"`
	Publications  []publication `json:"publications"`
}

type publication struct {
	Data   json.RawMessage `json:"data"`
	Offset uint64          `json:"offset"`
	Epoch  string          `json:"epoch"`
}

func (c *streamClient) session(ctx context.Context, url string) {
	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, _, err := websocket.DefaultDialer.DialContext(dialCtx, strings.Replace(url, "http", "ws", 1)+"/connection/uni_websocket", nil)
	cancel()
	if err != nil {
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c.mu.Lock()
	sub := `{}`
	if c.have {
		sub = fmt.Sprintf(`{"recover":true,"offset":%d,"epoch":%q}`, c.offset, c.epoch)
	}
	c.mu.Unlock()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+c.token+`","subs":{"`+c.ch+`":`+sub+`}}`)); err != nil {
		return
	}
	for {
		_, frame, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.mu.Lock()
				c.closes = append(c.closes, ce.Code)
				c.mu.Unlock()
			}
			return
		}
		var push struct {
			Channel string       `json:"channel"`
			Pub     *publication `json:"pub"`
			Connect *struct {
				Subs map[string]subResult `json:"subs"`
			} `json:"connect"`
		}
		if err := json.Unmarshal(frame, &push); err != nil {
			c.breakf("undecodable frame %s", frame)
			return
		}
		switch {
		case push.Connect != nil:
			c.onConnect(push.Connect.Subs[c.ch])
		case push.Pub != nil && push.Channel == c.ch:
			c.onPublication(*push.Pub)
		}
	}
}

func (c *streamClient) onConnect(r subResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connects++
	if !r.Positioned {
		c.breaks = append(c.breaks, "subscription not positioned")
		return
	}
	switch {
	case !c.have:
		c.have = true
	case r.Recovered:
		c.recovered++
		for _, p := range r.Publications {
			c.applyLocked(p)
		}
		return
	default:
		c.gaps++
	}
	c.epoch, c.offset = r.Epoch, r.Offset
	clear(c.data)
}

func (c *streamClient) onPublication(p publication) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyLocked(p)
}

func (c *streamClient) applyLocked(p publication) {
	if p.Offset != c.offset+1 || p.Epoch != "" && p.Epoch != c.epoch {
		c.breaks = append(c.breaks, fmt.Sprintf("at %d/%s got offset %d epoch %q", c.offset, c.epoch, p.Offset, p.Epoch))
		return
	}
	c.offset = p.Offset
	c.data[p.Offset] = string(p.Data)
}

func (c *streamClient) breakf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.breaks = append(c.breaks, fmt.Sprintf(format, args...))
}

// broken reports whether the client saw a contract break.
func (c *streamClient) broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.breaks) > 0
}

// position returns where the client is, and whether it has one yet.
func (c *streamClient) position() (uint64, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, c.epoch, c.have
}

// report summarises the client for failure messages.
func (c *streamClient) report() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("at %d/%s, %d connects, %d recovered, %d gaps, closes %v, breaks %q",
		c.offset, c.epoch, c.connects, c.recovered, c.gaps, c.closes, c.breaks)
}
