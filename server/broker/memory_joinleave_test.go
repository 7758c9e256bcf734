package broker_test

import (
	"testing"

	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
)

func TestMemoryJoinLeaveConformance(t *testing.T) {
	t.Parallel()
	brokertest.JoinLeave(t, broker.NewMemory(nil))
}
