package broker

import (
	"context"
	"sync"
)

// controlQueueMax bounds the control messages waiting for the handler;
// beyond it new ones are dropped (control delivery is at most once).
const controlQueueMax = 100_000

// controlQueue hands control messages to the Handler from its own
// goroutine, so that HandleControl may call the broker (a server-side
// subscribe waits for a SUBSCRIBE confirmation that the subscriber's
// reader must be free to receive).
type controlQueue struct {
	mu    sync.Mutex
	items [][]byte
	wake  chan struct{} // capacity 1
}

func newControlQueue() *controlQueue {
	return &controlQueue{wake: make(chan struct{}, 1)}
}

// push queues data without blocking.
func (q *controlQueue) push(data []byte) {
	q.mu.Lock()
	if len(q.items) < controlQueueMax {
		q.items = append(q.items, data)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run delivers queued messages in order until ctx ends.
func (q *controlQueue) run(ctx context.Context, h Handler) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		for _, data := range items {
			if ctx.Err() != nil {
				return
			}
			h.HandleControl(data)
		}
	}
}
