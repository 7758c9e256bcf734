package core

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CentrifugoEnvPrefix prefixes Centrifugo v6 keys in the environment:
// client.token.hmac_secret_key is CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY.
// uniws reads the variables of every key it maps (and of the keys that turn
// those on), beside its own UNIWS_<KEY> variables, which win.
const CentrifugoEnvPrefix = "CENTRIFUGO_"

// CentrifugoEnvName is the environment variable of a Centrifugo key.
func CentrifugoEnvName(path string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return CentrifugoEnvPrefix + strings.ToUpper(r.Replace(path))
}

// centrifugoEnvKeys lists the Centrifugo keys read from the environment,
// sorted, each with the type its value takes (nil: JSON).
func centrifugoEnvKeys() []envKey {
	var cfg Config
	fields := configFields(&cfg)
	var keys []envKey
	for _, kv := range centrifugoMapped() {
		keys = append(keys, envKey{kv[0], fields[kv[1]].Type()})
	}
	for opt := range channelOptionKeys() {
		keys = append(keys, envKey{"channel.without_namespace." + opt, fields[opt].Type()})
	}
	list, str := reflect.TypeOf([]string(nil)), reflect.TypeOf("")
	keys = append(keys,
		envKey{"client.proxy.connect.enabled", reflect.TypeOf(false)},
		envKey{"client.proxy.refresh.enabled", reflect.TypeOf(false)},
		envKey{"broker.enabled", reflect.TypeOf(false)},
		envKey{"broker.type", str},
		envKey{"broker.redis.address", list},
		envKey{"broker.redis.prefix", str},
		envKey{"channel.history_meta_ttl", reflect.TypeOf(Duration(0))},
	)
	for i := range keys {
		switch keys[i].path {
		case "channel.namespaces":
			keys[i].typ = nil
		case "engine.redis.address":
			keys[i].typ = list
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].path < keys[j].path })
	return keys
}

// envKey is a Centrifugo key read from the environment and the type of its
// value (nil: JSON).
type envKey struct {
	path string
	typ  reflect.Type
}

// applyCentrifugoEnv writes the CENTRIFUGO_* variables that are set into a
// normalized Centrifugo tree, and records which variable each key came
// from. Variables override the file; per-namespace variables
// (CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_<OPTION>) override one option of a
// namespace the file or CENTRIFUGO_CHANNEL_NAMESPACES defines.
func applyCentrifugoEnv(tree map[string]any, getenv func(string) string, envName map[string]string) []error {
	if getenv == nil {
		return nil
	}
	var errs []error
	var cfg Config
	fields := configFields(&cfg)
	for _, k := range centrifugoEnvKeys() {
		path, name := k.path, CentrifugoEnvName(k.path)
		s := getenv(name)
		if s == "" {
			continue
		}
		v, err := envTreeValue(k.typ, s)
		if err == nil {
			err = setPath(tree, path, v)
		}
		if err != nil {
			errs = append(errs, &ConfigError{Key: path, Err: fmt.Errorf("from %s: %w", name, err)})
			continue
		}
		envName[path] = name
	}
	list, _ := lookupPath(tree, "channel.namespaces").([]any)
	for _, item := range list {
		ns, _ := item.(map[string]any)
		nsName, _ := ns["name"].(string)
		if nsName == "" {
			continue
		}
		for opt := range channelOptionKeys() {
			name := CentrifugoEnvName("channel.namespaces." + nsName + "." + opt)
			s := getenv(name)
			if s == "" {
				continue
			}
			v, err := envTreeValue(fields[opt].Type(), s)
			if err != nil {
				errs = append(errs, &ConfigError{Key: "channel.namespaces[" + nsName + "]." + opt, Err: fmt.Errorf("from %s: %w", name, err)})
				continue
			}
			ns[opt] = v
		}
	}
	return errs
}

// envTreeValue parses a variable the way Centrifugo does for a value of
// type typ (nil: JSON): lists are space-separated (or a JSON list),
// durations Go duration strings.
func envTreeValue(typ reflect.Type, s string) (any, error) {
	switch {
	case typ == nil:
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("bad JSON %q: %v", s, err)
		}
		return v, nil
	case typ == reflect.TypeOf(Duration(0)):
		if _, err := time.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("bad duration %q (want e.g. \"25s\")", s)
		}
		return s, nil
	case typ == reflect.TypeOf(Port(0)):
		return s, nil
	}
	switch typ.Kind() {
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("bad boolean %q", s)
		}
		return b, nil
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad integer %q", s)
		}
		return float64(n), nil
	case reflect.Map:
		return envTreeValue(nil, s) // a JSON object, as Centrifugo reads it
	case reflect.Slice:
		if strings.HasPrefix(strings.TrimSpace(s), "[") {
			return envTreeValue(nil, s)
		}
		var out []any
		for _, f := range strings.Fields(s) {
			out = append(out, f)
		}
		return out, nil
	}
	return s, nil
}
