package broker_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
)

// TestMain checks for leaked goroutines. go-redis's connection pool, after
// repeated dial failures, probes Redis from a goroutine that sleeps a
// second between probes and notices Close only after its sleep; it is not
// ours to stop, so it is the one goroutine allowed to outlive a test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

func TestMemoryConformance(t *testing.T) {
	brokertest.Run(t, func(*testing.T) broker.Broker { return broker.NewMemory(nil) })
}
