package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// clusterNS is a namespace whose channels keep 10,000 publications and
// recover; client queues are large enough to take a burst of them.
const clusterNS = `,"client_queue_max_size":67108864,"client_recovery_max_publication_limit":10000,` +
	`"namespaces":[{"name":"hist","history_size":10000,"history_ttl":"300s","force_recovery":true}]`

// runClients runs clients until the test ends.
func runClients(t *testing.T, clients ...*streamClient) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

func fixed(url string) func() string { return func() string { return url } }

func TestClusterPublishOnOneNodeReachesAnother(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, "")
	a, b, third := c.nodes[0], c.nodes[1], c.nodes[2]
	conn, connect := a.connect(`{"token":"` + channelToken(t, "u", "news") + `"}`)
	if !strings.Contains(connect, `"subs":{"news":{}}`) {
		t.Fatalf("connect %s", connect)
	}
	b.publish("news", `{"from": "b"}`)
	if got := readFrame(t, conn); got != `{"channel":"news","pub":{"data":{"from": "b"}}}` {
		t.Fatalf("got %s", got)
	}

	// info and channels, asked on a third node, cover every node.
	waitUntil(t, "info listing three nodes and channels counting a's client", func() bool {
		_, info := third.api("info", testAPIKey, `{}`)
		_, chans := third.api("channels", testAPIKey, `{}`)
		return strings.Count(info, `"uid"`) == 3 && strings.Contains(info, `"num_clients":1`) &&
			strings.Contains(chans, `"news":{"num_clients":1}`)
	})
	conn.Close()
	a.stop()
	_, info := third.api("info", testAPIKey, `{}`)
	if n := strings.Count(info, `"uid"`); n != 2 {
		t.Fatalf("info after a stopped lists %d nodes: %s", n, info)
	}
}

func TestClusterTenThousandInOneOrder(t *testing.T) {
	t.Parallel()
	const total, batch = 10000, 100
	c := newCluster(t, 3, clusterNS)
	ch := "hist:global"
	tok := channelToken(t, "u", ch)
	var clients []*streamClient
	for _, n := range c.nodes {
		clients = append(clients, newStreamClient(ch, tok, fixed(n.url)))
	}
	runClients(t, clients...)
	for _, cl := range clients {
		waitUntil(t, "clients connected", func() bool { _, _, ok := cl.position(); return ok })
	}

	// Three publishers, one per node, each sending every third batch.
	byOffset := make([]int, total+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(c.nodes))
	for i, n := range c.nodes {
		wg.Go(func() {
			for first := i * batch; first < total; first += len(c.nodes) * batch {
				res, err := publishBatch(context.Background(), n.url, ch, first, batch)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, p := range res {
					if p.err != nil || p.offset == 0 || p.offset > total || byOffset[p.offset] != 0 {
						mu.Unlock()
						errs <- fmt.Errorf("publish %d: %+v", p.n, p)
						return
					}
					byOffset[p.offset] = p.n + 1
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, cl := range clients {
		waitUntil(t, "every publication delivered", func() bool { o, _, _ := cl.position(); return o == total || cl.broken() })
		cl.mu.Lock()
		if len(cl.breaks) > 0 || cl.connects != 1 {
			cl.mu.Unlock()
			t.Fatalf("client %s", cl.report())
		}
		for off := uint64(1); off <= total; off++ {
			if want := fmt.Sprintf(`{"n":%d}`, byOffset[off]-1); cl.data[off] != want {
				cl.mu.Unlock()
				t.Fatalf("offset %d holds %s, the API gave it to %s", off, cl.data[off], want)
			}
		}
		cl.mu.Unlock()
	}
}

func TestClusterRecoverOnAnotherNode(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, clusterNS)
	a, b, doomed := c.nodes[0], c.nodes[1], c.nodes[2]
	ch := "hist:moving"
	var mu sync.Mutex
	target := doomed.url
	cl := newStreamClient(ch, channelToken(t, "u", ch), func() string {
		mu.Lock()
		defer mu.Unlock()
		return target
	})
	runClients(t, cl)
	waitUntil(t, "client connected", func() bool { _, _, ok := cl.position(); return ok })

	publish := func(first, count int) {
		t.Helper()
		res, err := publishBatch(context.Background(), a.url, ch, first, count)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res {
			if p.err != nil {
				t.Fatalf("publish: %v", p.err)
			}
		}
	}
	publish(0, 50)
	waitUntil(t, "the first 50 on the doomed node", func() bool { o, _, _ := cl.position(); return o == 50 })

	// The client's node stops mid-stream; it reconnects elsewhere only
	// after more was published, so it has something to recover.
	mu.Lock()
	target = ""
	mu.Unlock()
	doomed.stop()
	publish(50, 120)
	mu.Lock()
	target = b.url
	mu.Unlock()
	publish(170, 30)
	waitUntil(t, "all 200 after recovery", func() bool { o, _, _ := cl.position(); return o == 200 })
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.recovered != 1 || cl.gaps != 0 || len(cl.breaks) != 0 || len(cl.closes) == 0 || cl.closes[0] != 3001 {
		t.Fatalf("client %s", cl.report())
	}
	for off := uint64(1); off <= 200; off++ {
		if cl.data[off] != fmt.Sprintf(`{"n":%d}`, off-1) {
			t.Fatalf("offset %d holds %s", off, cl.data[off])
		}
	}
}

// TestChannelsAndInfoOnOneNode: the memory engine reports its one node.
func TestChannelsAndInfoOnOneNode(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	conn, _ := ts.connect(`{"token":"` + channelToken(t, "u", "news", "sport", "news/eu") + `"}`)
	defer conn.Close()
	// Centrifugo's globs: * matches / too, {a,b} picks; a bad pattern is an error.
	for pattern, want := range map[string]string{
		"n*":         `{"result":{"channels":{"news":{"num_clients":1},"news/eu":{"num_clients":1}}}}`,
		"*eu":        `{"result":{"channels":{"news/eu":{"num_clients":1}}}}`,
		"{news,sp*}": `{"result":{"channels":{"news":{"num_clients":1},"sport":{"num_clients":1}}}}`,
		"[":          `{"error":{"code":100,"message":"internal server error"}}`,
	} {
		if _, out := ts.api("channels", testAPIKey, `{"pattern":"`+pattern+`"}`); out != want {
			t.Errorf("channels %q: %s, want %s", pattern, out, want)
		}
	}
	_, info := ts.api("info", testAPIKey, `{}`)
	if strings.Count(info, `"uid"`) != 1 || !strings.Contains(info, `"num_clients":1,"num_users":1,"num_subs":4,"num_channels":4`) {
		t.Fatalf("info: %s", info)
	}
}
