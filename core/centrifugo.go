package core

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// centrifugoDefaults is the output of `centrifugo defaultconfig` of
// Centrifugo v6.9.1: every key a Centrifugo v6 configuration may hold, with
// its default. It is the key set that nested configurations are checked
// against.
//
//go:embed centrifugo_v6_defaults.json
var centrifugoDefaults string

// centrifugoDefaultMetaTTL is Centrifugo's channel.history_meta_ttl default,
// which is also the default of uniws's engines.
const centrifugoDefaultMetaTTL = 30 * 24 * time.Hour

// isCentrifugoStyle reports whether a decoded configuration uses Centrifugo
// v6's nested sections: a top-level key that is a Centrifugo section holding
// an object (a flat "engine": "redis" is not), or a Centrifugo-only
// top-level key.
func isCentrifugoStyle(raw map[string]any, defaults map[string]any) bool {
	for k, v := range raw {
		def, known := defaults[k]
		if !known {
			continue
		}
		_, obj := v.(map[string]any)
		_, section := def.(map[string]any)
		if (obj && section) || k == "pid_file" || k == "enable_unreleased_features" {
			return true
		}
	}
	return false
}

// cfMapping is what reading a Centrifugo v6 tree produced.
type cfMapping struct {
	flat map[string]any
	// origin names, for each flat key, the Centrifugo key it came from.
	origin   map[string]string
	warnings map[string][]string // reason -> keys
	errs     []error

	tree     map[string]any
	defaults map[string]any
	mapped   map[string]string // Centrifugo key -> flat key
	envName  map[string]string // Centrifugo key -> the variable it came from
}

// mapCentrifugo maps a normalized Centrifugo v6 tree onto flat keys.
func mapCentrifugo(tree, defaults map[string]any, envName map[string]string) *cfMapping {
	m := &cfMapping{
		flat: map[string]any{}, origin: map[string]string{}, warnings: map[string][]string{},
		tree: tree, defaults: defaults, mapped: map[string]string{}, envName: envName,
	}
	for _, kv := range centrifugoMapped() {
		m.mapped[kv[0]] = kv[1]
	}
	m.walkObject("", tree, defaults)
	m.checkProxies()
	m.applyBroker()
	m.applyRedisDefault()
	m.applyMetaTTL()
	return m
}

// checkProxies refuses a proxy switched on without an endpoint, as
// Centrifugo does: uniws would otherwise run without it.
func (m *cfMapping) checkProxies() {
	for _, p := range []string{"client.proxy.connect", "client.proxy.refresh"} {
		on, _ := lookupPath(m.tree, p+".enabled").(bool)
		endpoint, _ := lookupPath(m.tree, p+".endpoint").(string)
		if on && endpoint == "" {
			m.fail(p+".endpoint", fmt.Errorf("not set, and %s.enabled is true", p))
		}
	}
}

func (m *cfMapping) fail(path string, err error) {
	if env := m.envName[path]; env != "" {
		err = fmt.Errorf("from %s: %w", env, err)
	}
	m.errs = append(m.errs, &ConfigError{Key: path, Err: err})
}

func (m *cfMapping) warn(path, reason string) {
	m.warnings[reason] = append(m.warnings[reason], path)
}

func (m *cfMapping) walkObject(prefix string, obj, def map[string]any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := joinPath(prefix, k)
		d, known := def[k]
		if !known {
			m.fail(path, unknownKeyErr(path, def, m.defaults))
			continue
		}
		m.walk(path, obj[k], d)
	}
}

func (m *cfMapping) walk(path string, v, def any) {
	if fixed, ok := centrifugoFixed(path); ok {
		if s, _ := v.(string); s != fixed && v != nil {
			m.fail(path, fmt.Errorf("uniws supports only %q", fixed))
		}
		return
	}
	if why, ok := centrifugoUnsupported(path); ok {
		if !sameValue(v, def) {
			m.fail(path, errors.New("not supported: "+why))
		}
		return
	}
	if centrifugoAccepted(path) || centrifugoSpecial(path) {
		return
	}
	switch path {
	case "channel.without_namespace":
		m.channelOptions(path, v, def, m.flat, true)
		return
	case "channel.namespaces":
		m.namespaces(path, v, def)
		return
	}
	if flat, ok := m.mapped[path]; ok {
		m.mapValue(path, flat, v)
		return
	}
	sub, isSection := def.(map[string]any)
	if isSection && len(sub) > 0 {
		obj, ok := v.(map[string]any)
		if !ok {
			if v != nil {
				m.fail(path, fmt.Errorf("want an object of %s options, got %s", path, jsonKind(v)))
			}
			return
		}
		m.walkObject(path, obj, sub)
		return
	}
	if !sameValue(v, def) {
		m.warn(path, notApplicable(path))
	}
}

// mapValue sets a flat key from a Centrifugo key, unless the key that turns
// its feature on is off.
func (m *cfMapping) mapValue(path, flat string, v any) {
	switch {
	case strings.HasPrefix(path, "client.proxy.connect."):
		if on, _ := lookupPath(m.tree, "client.proxy.connect.enabled").(bool); !on {
			return
		}
	case strings.HasPrefix(path, "client.proxy.refresh."):
		if on, _ := lookupPath(m.tree, "client.proxy.refresh.enabled").(bool); !on {
			return
		}
	case strings.HasPrefix(path, "engine.redis."):
		if t, _ := lookupPath(m.tree, "engine.type").(string); t != "redis" {
			return
		}
	}
	if path == "engine.redis.address" || path == "broker.redis.address" {
		if list, ok := v.([]any); ok && len(list) > 1 {
			// Several addresses: Centrifugo shards over them, and so does
			// uniws with redis_addresses.
			flat, v = "redis_addresses", list
		} else {
			v = singleAddress(v)
		}
	}
	if isEmptyList(v) || v == nil {
		return
	}
	m.flat[flat] = centrifugoValue(flat, v)
	m.origin[flat] = path
}

// channelOptions maps one namespace's options into dst; top marks the
// options of channels without a namespace, which are flat keys themselves.
func (m *cfMapping) channelOptions(path string, v, def any, dst map[string]any, top bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		if v != nil {
			m.fail(path, fmt.Errorf("want an object of channel options, got %s", jsonKind(v)))
		}
		return
	}
	defs, _ := def.(map[string]any)
	opts := channelOptionKeys()
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub := joinPath(path, k)
		d, known := defs[k]
		switch {
		case k == "name" && strings.HasPrefix(path, "channel.namespaces"):
		case opts[k]:
			dst[k] = centrifugoValue(k, obj[k])
			if err := wholeSeconds(k, dst[k]); err != nil {
				m.fail(sub, err)
			}
			if top {
				m.origin[k] = sub
			}
		case known:
			m.walk(sub, obj[k], d)
		default:
			m.fail(sub, unknownKeyErr(sub, defs, m.defaults))
		}
	}
}

func (m *cfMapping) namespaces(path string, v, _ any) {
	list, ok := v.([]any)
	if !ok {
		if v != nil {
			m.fail(path, fmt.Errorf("want a list of namespaces, got %s", jsonKind(v)))
		}
		return
	}
	def := m.defaults["channel"].(map[string]any)["without_namespace"]
	out := make([]any, 0, len(list))
	for i, item := range list {
		obj, _ := item.(map[string]any)
		name, _ := obj["name"].(string)
		label := fmt.Sprintf("%s[%d]", path, i)
		if name != "" {
			label = fmt.Sprintf("%s[%s]", path, name)
		}
		ns := map[string]any{"name": name}
		m.channelOptions(label, item, def, ns, false)
		out = append(out, ns)
	}
	if len(out) > 0 {
		m.flat["namespaces"] = out
		m.origin["namespaces"] = path
	}
}

// applyMetaTTL gives channel.history_meta_ttl to every namespace that does
// not set its own, when it differs from the engines' default.
func (m *cfMapping) applyMetaTTL() {
	v := lookupPath(m.tree, "channel.history_meta_ttl")
	if v == nil {
		return
	}
	s, _ := centrifugoValue("history_meta_ttl", v).(string)
	d, err := time.ParseDuration(s)
	if err != nil {
		m.fail("channel.history_meta_ttl", fmt.Errorf("bad duration %v (want e.g. \"720h\")", v))
		return
	}
	if err := wholeSeconds("history_meta_ttl", s); err != nil {
		m.fail("channel.history_meta_ttl", err)
		return
	}
	if d == 0 || d == centrifugoDefaultMetaTTL {
		return
	}
	if _, set := m.flat["history_meta_ttl"]; !set {
		m.flat["history_meta_ttl"] = s
	}
	list, _ := m.flat["namespaces"].([]any)
	for _, ns := range list {
		if obj, _ := ns.(map[string]any); obj != nil && obj["history_meta_ttl"] == nil {
			obj["history_meta_ttl"] = s
		}
	}
}

// Warnings returns the warnings, one per reason, each naming its keys.
func (m *cfMapping) Warnings() []string {
	out := make([]string, 0, len(m.warnings))
	for reason, keys := range m.warnings {
		out = append(out, strings.Join(keys, ", ")+": "+reason+"; ignored")
	}
	sort.Strings(out)
	return out
}
