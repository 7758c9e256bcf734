package server

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/ws"
)

// What the node does for a deployment of many nodes: it resynchronises
// sessions when the engine lost publications, and describes itself to the
// other nodes.

// HandleResubscribe implements broker.Handler: the engine could not prove
// that no publication of channels was lost, so every session positioned on
// one of them is closed with 3010 and recovers on reconnect.
func (n *node) HandleResubscribe(channels []string) {
	closed := 0
	for _, ch := range channels {
		for _, sub := range n.hub.Subscribers(ch) {
			if s, ok := sub.(*ws.Session); ok && s.LostPosition(ch) {
				closed++
			}
		}
	}
	n.log.Warn("engine subscription was interrupted", "channels", len(channels), "sessions_closed", closed)
}

// Describe implements broker.Describer.
func (n *node) Describe() broker.NodeInfo {
	clients, users := n.counts()
	channels := n.hub.Channels()
	subs := 0
	for _, c := range channels {
		subs += c
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return broker.NodeInfo{
		UID:         n.uid,
		Name:        n.name,
		Version:     n.version,
		NumClients:  clients,
		NumUsers:    users,
		NumSubs:     subs,
		Uptime:      int64(n.now().Sub(n.started) / time.Second),
		MemoryBytes: ms.Sys,
		Goroutines:  runtime.NumGoroutine(),
		RSS:         processRSS(),
		Channels:    channels,
	}
}

// nodes describes every node of the deployment, this one first.
func (n *node) nodes(ctx context.Context) ([]broker.NodeInfo, error) {
	nb, ok := n.broker.(broker.Nodes)
	if !ok {
		return []broker.NodeInfo{n.Describe()}, nil
	}
	nodes, err := nb.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes) == 0 || nodes[0].UID != n.uid {
		nodes = append([]broker.NodeInfo{n.Describe()}, nodes...)
	}
	return nodes, nil
}
