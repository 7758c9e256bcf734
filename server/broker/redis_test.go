package broker_test

import (
	"testing"
	"time"

	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
	"github.com/uniws/uniws/server/broker/redistest"
)

// newRedis returns an engine on srvs under a prefix no other engine of the
// test run uses, closed at the end of the test.
func newRedis(t *testing.T, opts broker.RedisOptions, srvs ...*redistest.Server) *broker.Redis {
	t.Helper()
	for _, s := range srvs {
		opts.Addresses = append(opts.Addresses, s.Addr())
	}
	if opts.Prefix == "" {
		opts.Prefix = "t" + broker.NewEpoch()
	}
	b, err := broker.NewRedis(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestRedisConformance(t *testing.T) {
	srv := redistest.Start(t)
	brokertest.Run(t, func(t *testing.T) broker.Broker {
		return newRedis(t, broker.RedisOptions{Heartbeat: 100 * time.Millisecond}, srv)
	})
}
