package core

import "fmt"

// applyBroker maps an enabled Redis broker onto the engine: it carries
// publications and history, which is all a uniws engine does.
func (m *cfMapping) applyBroker() {
	if on, _ := lookupPath(m.tree, "broker.enabled").(bool); !on {
		return
	}
	switch t, _ := lookupPath(m.tree, "broker.type").(string); t {
	case "", "memory":
		return
	case "redis":
		m.flat["engine"], m.origin["engine"] = "redis", "broker.type"
		if v := lookupPath(m.tree, "broker.redis.address"); v != nil {
			m.mapValue("broker.redis.address", "redis_address", v)
		}
		if v := lookupPath(m.tree, "broker.redis.prefix"); v != nil {
			m.mapValue("broker.redis.prefix", "redis_prefix", v)
		}
	default:
		m.fail("broker.type", fmt.Errorf("%q is not available in uniws (its engines are memory and redis)", t))
	}
}

// applyRedisDefault gives the redis engine Centrifugo's default address
// when the file names none.
func (m *cfMapping) applyRedisDefault() {
	if m.flat["engine"] != "redis" || m.flat["redis_address"] != nil {
		return
	}
	if addr, err := singleAddress(lookupPath(m.defaults, "engine.redis.address")); err == nil && addr != nil {
		m.flat["redis_address"] = addr
	}
}

// singleAddress reads a Redis address given as a string or a list of one.
func singleAddress(v any) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return v, nil
	}
	switch len(list) {
	case 0:
		return nil, nil
	case 1:
		return list[0], nil
	}
	return nil, fmt.Errorf("%d addresses: uniws connects to one Redis server (no client-side sharding)", len(list))
}
