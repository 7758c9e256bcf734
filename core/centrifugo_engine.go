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
		for _, kv := range [][2]string{
			{"address", "redis_address"}, {"prefix", "redis_prefix"},
			{"connect_timeout", "redis_connect_timeout"}, {"io_timeout", "redis_io_timeout"},
			{"tls.enabled", "redis_tls"}, {"tls.insecure_skip_verify", "redis_tls_insecure_skip_verify"},
		} {
			if v := lookupPath(m.tree, "broker.redis."+kv[0]); v != nil {
				m.mapValue("broker.redis."+kv[0], kv[1], v)
			}
		}
	default:
		m.fail("broker.type", fmt.Errorf("%q is not available in uniws (its engines are memory and redis)", t))
	}
}

// applyRedisDefault gives the redis engine Centrifugo's default address
// when the file names none.
func (m *cfMapping) applyRedisDefault() {
	if m.flat["engine"] != "redis" || m.flat["redis_address"] != nil || m.flat["redis_addresses"] != nil {
		return
	}
	if addr := singleAddress(lookupPath(m.defaults, "engine.redis.address")); addr != nil {
		m.flat["redis_address"] = addr
	}
}

// singleAddress reads a Redis address given as a string or a list of one
// (nil for an empty list).
func singleAddress(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	if len(list) == 0 {
		return nil
	}
	return list[0]
}
