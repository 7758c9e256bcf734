package broker_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryConformance(t *testing.T) {
	brokertest.Run(t, func(*testing.T) broker.Broker { return broker.NewMemory(nil) })
}
