package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// ConfigReport says how a configuration was read.
type ConfigReport struct {
	// Centrifugo is set when the file used Centrifugo v6's nested sections.
	Centrifugo bool
	// Warnings name the settings that were read but have no effect in
	// uniws, each with the reason.
	Warnings []string
}

// LoadConfig reads a configuration file (JSON, YAML or TOML, chosen by the
// file extension; an empty path means no file), applies the environment
// through getenv (nil for none), fills in defaults and validates the
// result. See LoadConfigReport.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	cfg, _, err := LoadConfigReport(path, getenv)
	return cfg, err
}

// ParseConfig decodes configuration bytes in the given format ("json",
// "yaml" or "toml"), applies the environment and validates.
func ParseConfig(format string, data []byte, getenv func(string) string) (*Config, error) {
	cfg, _, err := ParseConfigReport(format, data, getenv)
	return cfg, err
}

// LoadConfigReport is LoadConfig that also reports how the file was read.
//
// The file holds either the flat keys of PROTOCOL.md §10 or a Centrifugo v6
// configuration with nested sections (client.token.hmac_secret_key, ...),
// told apart by its shape. Nested keys map onto the same Config; known
// Centrifugo keys that have no effect in uniws become warnings, unknown
// keys errors. The environment overrides the file: CENTRIFUGO_<KEY> for
// the Centrifugo keys uniws maps, then UNIWS_<KEY> for flat keys.
//
// Every problem found is reported, each a *ConfigError naming the key as
// the file (or variable) spelled it, joined by errors.Join; ConfigProblems
// lists them.
func LoadConfigReport(path string, getenv func(string) string) (*Config, *ConfigReport, error) {
	var raw map[string]any
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read config: %w", err)
		}
		raw, err = parseConfig(filepath.Ext(path), data)
		if err != nil {
			return nil, nil, fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	return buildConfig(raw, getenv)
}

// ParseConfigReport is ParseConfig that also reports how the data was read.
func ParseConfigReport(format string, data []byte, getenv func(string) string) (*Config, *ConfigReport, error) {
	raw, err := parseConfig("."+format, data)
	if err != nil {
		return nil, nil, fmt.Errorf("parse config: %w", err)
	}
	return buildConfig(raw, getenv)
}

// ConfigProblems lists the problems a configuration error holds, in order:
// the errors joined by LoadConfig and Validate, flattened.
func ConfigProblems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, ConfigProblems(e)...)
		}
		return out
	}
	return []error{err}
}

func buildConfig(raw map[string]any, getenv func(string) string) (*Config, *ConfigReport, error) {
	report := &ConfigReport{}
	if raw == nil {
		raw = map[string]any{}
	}
	defaults := parseCentrifugoDefaults()
	report.Centrifugo = isCentrifugoStyle(raw, defaults)
	tree := map[string]any{}
	if report.Centrifugo {
		var err error
		if tree, err = normalize(raw); err != nil {
			return nil, report, fmt.Errorf("read config: %w", err)
		}
		raw = map[string]any{}
	}
	envName := map[string]string{}
	errs := applyCentrifugoEnv(tree, getenv, envName)
	origin := map[string]string{} // flat key -> the Centrifugo key it came from
	if len(tree) > 0 {
		m := mapCentrifugo(tree, defaults, envName)
		errs = append(errs, m.errs...)
		report.Warnings = m.Warnings()
		for k, v := range m.flat {
			raw[k] = v
			origin[k] = m.origin[k]
		}
		if report.Centrifugo && m.flat["uni_websocket"] != true {
			report.Warnings = append(report.Warnings, "uni_websocket.enabled is not true: Centrifugo would serve no uni_websocket endpoint with this file; uniws always serves it")
		}
	}

	cfg := Default()
	fields := configFields(&cfg)
	fromEnv := map[string]bool{}
	if getenv != nil {
		for _, key := range ConfigKeys() {
			v := getenv(EnvPrefix + strings.ToUpper(key))
			if v == "" {
				continue
			}
			parsed, err := envValue(fields[key], v)
			if err != nil {
				errs = append(errs, &ConfigError{Key: key, Err: fmt.Errorf("from %s%s: %w", EnvPrefix, strings.ToUpper(key), err)})
				continue
			}
			raw[key] = parsed
			fromEnv[key] = true
		}
	}
	if v, set := raw["uni_websocket"]; set && v == false && !report.Centrifugo {
		report.Warnings = append(report.Warnings, "uni_websocket is false: uniws serves the uni_websocket endpoint all the same (the key is there for Centrifugo's sake)")
	}
	// Problems with flat values are renamed after the keys they came from.
	var flatErrs []error
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		f, ok := fields[key]
		if !ok {
			flatErrs = append(flatErrs, &ConfigError{Key: key, Err: unknownFlatKeyErr(key, fields)})
			continue
		}
		b, err := json.Marshal(raw[key])
		if err != nil {
			flatErrs = append(flatErrs, &ConfigError{Key: key, Err: err})
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f.Addr().Interface()); err != nil {
			err = cleanJSONError(err)
			if fromEnv[key] {
				err = fmt.Errorf("from %s%s: %w", EnvPrefix, strings.ToUpper(key), err)
			}
			flatErrs = append(flatErrs, &ConfigError{Key: key, Err: err})
		}
	}
	// The checks across keys run even when some values did not decode
	// (those keep their defaults), so that every problem is reported at
	// once; what they say about a key that failed already, under its name
	// or naming it ("… must be greater than pong_timeout 8s"), is left out.
	var failed []string
	for _, e := range append(errs[:len(errs):len(errs)], flatErrs...) {
		if ce, ok := e.(*ConfigError); ok {
			failed = append(failed, baseKey(ce.Key))
		}
	}
	for _, e := range ConfigProblems(cfg.Validate()) {
		if ce, ok := e.(*ConfigError); !ok || !slices.ContainsFunc(failed, func(k string) bool {
			return baseKey(ce.Key) == k || namesKey(ce.Err.Error(), k)
		}) {
			flatErrs = append(flatErrs, e)
		}
	}
	for _, e := range flatErrs {
		errs = append(errs, renameKey(e, origin, fromEnv, envName))
	}
	if len(errs) > 0 {
		return nil, report, errors.Join(errs...)
	}
	return &cfg, report, nil
}

// namesKey reports whether msg names key as a word of its own. Only keys
// of several words count ("pong_timeout"): a one-word key such as "port"
// is as likely plain prose ("want host:port").
func namesKey(msg, key string) bool {
	if !strings.Contains(key, "_") {
		return false
	}
	word := func(c byte) bool {
		return c == '_' || c == '.' || c == ':' || c == '/' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
	}
	for i := 0; ; {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(key)
		if (j == 0 || !word(msg[j-1])) && (end == len(msg) || !word(msg[end])) {
			return true
		}
		i = j + 1
	}
}

// baseKey is the top-level key of a problem's key ("namespaces" of
// "namespaces[0].name").
func baseKey(key string) string {
	if i := strings.IndexAny(key, "[."); i >= 0 {
		return key[:i]
	}
	return key
}

// renameKey names a flat key by the Centrifugo key it came from, and the
// variable that set it.
func renameKey(err error, origin map[string]string, fromEnv map[string]bool, envName map[string]string) error {
	ce, ok := err.(*ConfigError)
	if !ok || fromEnv[ce.Key] {
		return err
	}
	key, rest := ce.Key, ""
	if i := strings.IndexByte(key, '['); i >= 0 {
		key, rest = key[:i], key[i:]
	}
	path, ok := origin[key]
	if !ok || path == "" {
		return err
	}
	inner := ce.Err
	if env := envName[path]; env != "" && !strings.Contains(inner.Error(), env) {
		inner = fmt.Errorf("from %s: %w", env, inner)
	}
	return &ConfigError{Key: path + rest, Err: inner}
}

// unknownFlatKeyErr says that a flat key is unknown, suggesting the nearest
// flat key.
func unknownFlatKeyErr(key string, fields map[string]reflect.Value) error {
	best, bestDist := "", len(key)/3+2
	for k := range fields {
		if d := editDistance(key, k); d < bestDist || (d == bestDist && k < best) {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key (did you mean %s?)", best)
	}
	return errors.New("unknown key")
}
