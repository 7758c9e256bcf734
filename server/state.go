package server

// The node's counts, read by the /metrics gauges (metrics.State) and the
// info API. Each is safe for concurrent use.

// NumClients is the number of connected sessions.
func (n *node) NumClients() int {
	clients, _ := n.counts()
	return clients
}

// NumUsers is the number of distinct connected users.
func (n *node) NumUsers() int {
	_, users := n.counts()
	return users
}

// NumSubscriptions is the number of subscriptions on this node.
func (n *node) NumSubscriptions() int { return n.hub.NumSubscriptions() }

// NumChannels is the number of channels with a subscriber on this node.
func (n *node) NumChannels() int { return n.hub.NumChannels() }
