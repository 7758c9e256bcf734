package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/redistest"
)

// cluster is several nodes sharing one Redis, each a real server on
// 127.0.0.1:0 in this process.
type cluster struct {
	t      *testing.T
	redis  *redistest.Server
	prefix string
	extra  string
	nodes  []*node
}

// node is one server of a cluster; stop ends it as a shutdown would.
type node struct {
	*testServer
	stop func()
}

// newCluster starts n nodes on a fresh redis-server with the seed config,
// the redis engine and extra keys. Redis problems surface within about a
// second (short connect and I/O timeouts).
func newCluster(t *testing.T, n int, extra string) *cluster {
	t.Helper()
	c := &cluster{t: t, redis: redistest.Start(t), prefix: "c" + broker.NewEpoch(), extra: extra}
	for range n {
		c.nodes = append(c.nodes, c.start())
	}
	return c
}

func (c *cluster) start() *node {
	c.t.Helper()
	cfgJSON := fmt.Sprintf(`{"token_hmac_secret_key":%q,"api_key":%q,"engine":"redis","redis_address":%q,"redis_prefix":%q,`+
		`"redis_connect_timeout":"200ms","redis_io_timeout":"300ms"%s}`, testSecret, testAPIKey, c.redis.Addr(), c.prefix, c.extra)
	cfg, err := core.ParseConfig("json", []byte(cfgJSON), nil)
	if err != nil {
		c.t.Fatalf("config: %v", err)
	}
	ts, stop := serveConfig(c.t, cfg, server.WithVersion("test"), server.WithIDs(uuid.NewString))
	return &node{testServer: ts, stop: stop}
}

// apiReply is what an API call answered, or how it failed.
type apiReply struct {
	status int
	body   string
	err    error
}

// callAPI calls method on the node at baseURL; safe from any goroutine.
func callAPI(ctx context.Context, baseURL, method, body string) apiReply {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/"+method, strings.NewReader(body))
	if err != nil {
		return apiReply{err: err}
	}
	req.Header.Set("X-API-Key", testAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return apiReply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return apiReply{status: resp.StatusCode, body: string(bytes.TrimSpace(b)), err: err}
}

// published is one publish's outcome.
type published struct {
	n      int // the publication's data {"n":n}
	offset uint64
	epoch  string
	err    *core.Error
}

// publishBatch publishes {"n":first}..{"n":first+count-1} to ch in one
// batch call and returns each outcome.
func publishBatch(ctx context.Context, baseURL, ch string, first, count int) ([]published, error) {
	var b strings.Builder
	b.WriteString(`{"commands":[`)
	for i := range count {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"publish":{"channel":%q,"data":{"n":%d}}}`, ch, first+i)
	}
	b.WriteString(`]}`)
	rep := callAPI(ctx, baseURL, "batch", b.String())
	if rep.err != nil || rep.status != http.StatusOK {
		return nil, fmt.Errorf("batch: status %d, %v, %s", rep.status, rep.err, rep.body)
	}
	var out struct {
		Result struct {
			Replies []struct {
				Result *struct {
					Offset uint64 `json:"offset"`
					Epoch  string `json:"epoch"`
				} `json:"result"`
				Error *core.Error `json:"error"`
			} `json:"replies"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(rep.body), &out); err != nil || len(out.Result.Replies) != count {
		return nil, fmt.Errorf("batch reply %s: %v", rep.body, err)
	}
	res := make([]published, count)
	for i, r := range out.Result.Replies {
		res[i] = published{n: first + i, err: r.Error}
		if r.Result != nil {
			res[i].offset, res[i].epoch = r.Result.Offset, r.Result.Epoch
		}
	}
	return res, nil
}

// waitUntil polls cond until it holds or fails the test after 30s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
