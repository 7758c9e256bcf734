package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// parseCentrifugoDefaults decodes the embedded Centrifugo v6 key set.
func parseCentrifugoDefaults() map[string]any {
	var out map[string]any
	if err := json.Unmarshal([]byte(centrifugoDefaults), &out); err != nil {
		panic("core: embedded Centrifugo defaults do not parse: " + err.Error())
	}
	return out
}

// normalize turns whatever a YAML, TOML or JSON decoder produced into the
// shapes encoding/json produces (map[string]any, []any, float64, string,
// bool, nil), so that one walker reads every format.
func normalize(raw map[string]any) (map[string]any, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// lookupPath returns the value at a dotted path of a tree, or nil.
func lookupPath(tree map[string]any, path string) any {
	var cur any = tree
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[part]
	}
	return cur
}

// setPath sets the value at a dotted path, creating objects on the way. It
// fails when a value on the way is not an object.
func setPath(tree map[string]any, path string, v any) error {
	parts := strings.Split(path, ".")
	cur := tree
	for _, part := range parts[:len(parts)-1] {
		next, ok := cur[part].(map[string]any)
		if !ok {
			if cur[part] != nil {
				return fmt.Errorf("%s is not an object", part)
			}
			next = map[string]any{}
			cur[part] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
	return nil
}

// sameValue reports whether a configured value is Centrifugo's default:
// equal, both empty, or durations of the same length.
func sameValue(v, def any) bool {
	if reflect.DeepEqual(v, def) || (isZero(v) && isZero(def)) {
		return true
	}
	a, aok := v.(string)
	b, bok := def.(string)
	if aok && bok {
		da, err1 := time.ParseDuration(a)
		db, err2 := time.ParseDuration(b)
		return err1 == nil && err2 == nil && da == db
	}
	return false
}

// isZero reports an empty value: null, false, 0, "", "0s", an empty list,
// or an object of empty values.
func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == "" || x == "0s"
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, e := range x {
			if !isZero(e) {
				return false
			}
		}
		return true
	}
	return false
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// centrifugoValue converts a Centrifugo value for a flat key: a number for
// a duration means nanoseconds in Centrifugo, where a flat uniws file takes
// it as seconds, so it becomes a duration string here.
func centrifugoValue(flat string, v any) any {
	n, ok := v.(float64)
	if !ok || !isDurationKey(flat) {
		return v
	}
	return time.Duration(n).String()
}

// wholeSeconds refuses, as Centrifugo does, a history_ttl or
// history_meta_ttl with sub-second precision: a number there is
// nanoseconds, so 60 is not a minute.
func wholeSeconds(key string, v any) error {
	if key != "history_ttl" && key != "history_meta_ttl" {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%time.Second == 0 {
		return nil // a bad duration is reported where it is parsed
	}
	return fmt.Errorf("malformed duration %s, sub-second precision is not supported for this key (a number is nanoseconds: write \"60s\")", s)
}

// isDurationKey reports whether a flat key (or channel option) holds a
// Duration.
func isDurationKey(key string) bool {
	var cfg Config
	f, ok := configFields(&cfg)[key]
	return ok && f.Type() == reflect.TypeOf(Duration(0))
}

// channelOptionKeys is the set of channel option keys uniws implements.
func channelOptionKeys() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(ChannelOptions{})
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && t.Field(i).IsExported() {
			out[name] = true
		}
	}
	return out
}

// unknownKeyErr says that a key is unknown and suggests the nearest of its
// known siblings or of all Centrifugo keys, or the Centrifugo name of a flat
// uniws key.
func unknownKeyErr(path string, siblings, defaults map[string]any) error {
	for _, kv := range centrifugoMapped() {
		if kv[1] == path {
			return fmt.Errorf("unknown key: a flat uniws key in a Centrifugo v6 style file; write it as %s (a file uses either flat keys or Centrifugo sections)", kv[0])
		}
	}
	if channelOptionKeys()[path] {
		return fmt.Errorf("unknown key: a flat uniws key in a Centrifugo v6 style file; write it as channel.without_namespace.%s", path)
	}
	dot := strings.LastIndexByte(path, '.')
	parent, name := path[:dot+1], path[dot+1:]
	best, bestDist := "", len(name)/3+2
	for k := range siblings {
		if d := editDistance(name, k); d < bestDist || (d == bestDist && parent+k < best) {
			best, bestDist = parent+k, d
		}
	}
	if best == "" {
		var known []string
		collectPaths("", defaults, &known)
		bestDist = len(path)/4 + 2
		for _, k := range known {
			if d := editDistance(path, k); d < bestDist {
				best, bestDist = k, d
			}
		}
	}
	switch best {
	case "":
		return errors.New("unknown key")
	case path:
		// Only a key that holds the dots itself ("client.ping_interval":
		// at the top level) can be unknown under a known path's name.
		return fmt.Errorf("unknown key: a key with dots in its name is not nested; write %s as nested objects", path)
	}
	return fmt.Errorf("unknown key (did you mean %s?)", best)
}

func collectPaths(prefix string, tree map[string]any, out *[]string) {
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := joinPath(prefix, k)
		*out = append(*out, p)
		if sub, ok := tree[k].(map[string]any); ok {
			collectPaths(p, sub, out)
		}
	}
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
