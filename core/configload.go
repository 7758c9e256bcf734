package core

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix prefixes every configuration key in the environment.
const EnvPrefix = "UNIWS_"

func parseConfig(ext string, data []byte) (map[string]any, error) {
	raw := map[string]any{}
	switch strings.ToLower(ext) {
	case ".yaml", ".yml":
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return nil, err
		}
	case ".toml":
		if err := toml.Unmarshal(data, &raw); err != nil {
			return nil, err
		}
	default:
		if len(bytes.TrimSpace(data)) == 0 {
			return raw, nil
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, err
		}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return raw, nil
}

// configFields maps each configuration key to its field in cfg, including
// the promoted channel options.
func configFields(cfg *Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			if sf.Anonymous {
				walk(v.Field(i))
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			out[name] = v.Field(i)
		}
	}
	walk(reflect.ValueOf(cfg).Elem())
	return out
}

// ConfigKeys lists every flat configuration key, sorted.
func ConfigKeys() []string {
	var cfg Config
	fields := configFields(&cfg)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func envValue(f reflect.Value, v string) (any, error) {
	switch f.Kind() {
	case reflect.String:
		return v, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("bad boolean %q", v)
		}
		return b, nil
	}
	if f.Type() == reflect.TypeOf(Duration(0)) {
		// A bare number is seconds, as in a file.
		if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return n, nil
		}
		return v, nil
	}
	if f.Type() == reflect.TypeOf(Port(0)) {
		return v, nil
	}
	if f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String && !strings.HasPrefix(strings.TrimSpace(v), "[") {
		var out []any
		for _, s := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(s))
		}
		return out, nil
	}
	var parsed any
	if err := json.Unmarshal([]byte(v), &parsed); err != nil {
		return nil, fmt.Errorf("bad value %q: %v", v, err)
	}
	return parsed, nil
}

func cleanJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Errorf("field %q: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("want %s, got %s", te.Type, te.Value)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return errors.New(msg)
}

// GenerateSecret returns a fresh random secret of n bytes, hex-encoded.
func GenerateSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// DevConfig is the zero set-up development configuration: the seed's
// settings with fresh random secrets.
func DevConfig() map[string]any {
	return map[string]any{
		"token_hmac_secret_key":      GenerateSecret(32),
		"api_key":                    GenerateSecret(24),
		"uni_websocket":              true,
		"user_subscribe_to_personal": true,
	}
}

// ConfigFormat is the format LoadConfig reads a file in, by its extension:
// "yaml", "toml" or "json" (any other extension).
func ConfigFormat(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return "yaml"
	case ".toml":
		return "toml"
	}
	return "json"
}

// EncodeConfig encodes a configuration map as "json" (indented), "yaml" or
// "toml", keys sorted.
func EncodeConfig(format string, cfg map[string]any) ([]byte, error) {
	var data []byte
	var err error
	switch format {
	case "yaml":
		data, err = yaml.Marshal(cfg)
	case "toml":
		var buf bytes.Buffer
		err = toml.NewEncoder(&buf).Encode(cfg)
		data = buf.Bytes()
	case "json":
		data, err = json.MarshalIndent(cfg, "", "  ")
		data = append(data, '\n')
	default:
		return nil, fmt.Errorf("encode config: unknown format %q (json, yaml or toml)", format)
	}
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return data, nil
}

// WriteConfigFile writes a configuration map to path in the format its
// extension names, creating parent directories. It refuses to overwrite an
// existing file unless force is set.
func WriteConfigFile(path string, cfg map[string]any, force bool) error {
	data, err := EncodeConfig(ConfigFormat(path), cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	return f.Close()
}
