package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// faultPublisher publishes {"n":...} to one node until stopped and sorts
// the replies: results, clean error 100 replies, and anything else.
type faultPublisher struct {
	url, ch string

	mu       sync.Mutex
	ok       map[string]map[uint64]int // epoch -> offset -> n
	okCount  int
	failures int
	unclean  []string
}

// run publishes until ctx ends. A call under way when it ends is not cut
// short but waited for and counted: a publication whose request was
// abandoned may still reach the stream, after the test has read its top.
func (p *faultPublisher) run(ctx context.Context, base int) {
	for n := base; ctx.Err() == nil; n++ {
		rep := callAPI(context.WithoutCancel(ctx), p.url, "publish", fmt.Sprintf(`{"channel":%q,"data":{"n":%d}}`, p.ch, n))
		var out struct {
			Result *struct {
				Offset uint64 `json:"offset"`
				Epoch  string `json:"epoch"`
			} `json:"result"`
		}
		p.mu.Lock()
		switch {
		case rep.err == nil && rep.status == http.StatusOK && rep.body == `{"error":{"code":100,"message":"internal server error"}}`:
			p.failures++
		case rep.err == nil && rep.status == http.StatusOK && json.Unmarshal([]byte(rep.body), &out) == nil && out.Result != nil && out.Result.Offset > 0:
			if p.ok[out.Result.Epoch] == nil {
				p.ok[out.Result.Epoch] = make(map[uint64]int)
			}
			p.ok[out.Result.Epoch][out.Result.Offset] = n
			p.okCount++
		default:
			p.unclean = append(p.unclean, fmt.Sprintf("status %d, %v, %s", rep.status, rep.err, rep.body))
		}
		failed := p.failures
		p.mu.Unlock()
		if failed > 0 {
			time.Sleep(2 * time.Millisecond) // do not spin while Redis is away
		}
	}
}

func (p *faultPublisher) counts() (ok, failures int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.okCount, p.failures
}

// TestClusterSurvivesRedisRestart kills Redis while three nodes publish
// and deliver, then starts it again, empty. The nodes carry on without a
// restart of their own; API calls during the outage get clean error 100
// replies; every client ends at the stream's top having either every
// publication or a gap the server reported (the epoch changed).
func TestClusterSurvivesRedisRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, clusterNS)
	ch := "hist:fault"
	tok := channelToken(t, "u", ch)
	var clients []*streamClient
	for _, n := range c.nodes {
		clients = append(clients, newStreamClient(ch, tok, fixed(n.url)))
	}
	runClients(t, clients...)
	for _, cl := range clients {
		waitUntil(t, "clients connected", func() bool { _, _, ok := cl.position(); return ok })
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var pubs []*faultPublisher
	for i, n := range c.nodes {
		p := &faultPublisher{url: n.url, ch: ch, ok: make(map[string]map[uint64]int)}
		pubs = append(pubs, p)
		wg.Go(func() { p.run(ctx, i*1_000_000) })
	}
	defer func() { cancel(); wg.Wait() }()
	total := func() (ok, failures int) {
		for _, p := range pubs {
			o, f := p.counts()
			ok, failures = ok+o, failures+f
		}
		return ok, failures
	}
	waitUntil(t, "publications before the outage", func() bool { ok, _ := total(); return ok >= 300 })
	c.redis.Kill()
	waitUntil(t, "failed publishes during the outage", func() bool { _, f := total(); return f >= 30 })
	c.redis.Restart()
	before := make([]int, len(pubs))
	for i, p := range pubs {
		before[i], _ = p.counts()
	}
	waitUntil(t, "publications on every node after the restart", func() bool {
		for i, p := range pubs {
			if ok, _ := p.counts(); ok < before[i]+100 {
				return false
			}
		}
		return true
	})
	cancel()
	wg.Wait()

	top, epoch := topOf(t, c.nodes[0].testServer, ch)
	ok, failures := total()
	t.Logf("%d publications, %d clean failures; the stream ends at %d/%s", ok, failures, top, epoch)
	for _, p := range pubs {
		if len(p.unclean) > 0 {
			t.Fatalf("unclean API replies: %q", p.unclean)
		}
	}
	for _, cl := range clients {
		waitUntil(t, "clients at the top", func() bool {
			o, e, _ := cl.position()
			return o == top && e == epoch || cl.broken()
		})
		t.Logf("client %s", cl.report())
		cl.mu.Lock()
		if len(cl.breaks) > 0 || cl.gaps == 0 {
			cl.mu.Unlock()
			t.Fatalf("client %s", cl.report())
		}
		for off, data := range cl.data {
			n, ok := 0, false
			for _, p := range pubs {
				if v, found := p.ok[epoch][off]; found {
					n, ok = v, true
				}
			}
			if ok && data != fmt.Sprintf(`{"n":%d}`, n) {
				cl.mu.Unlock()
				t.Fatalf("offset %d holds %s, published as n=%d", off, data, n)
			}
		}
		cl.mu.Unlock()
	}
}
