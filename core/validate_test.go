package core

import (
	"errors"
	"testing"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := ParseConfig("json", []byte(`{
		"port": 70000,
		"client_channel_limit": -1,
		"engine": "postgres",
		"namespaces": [{"name": "a"}, {"name": "ok", "history_size": 1}]
	}`), nil)
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{"port", "client_channel_limit", "engine", "namespaces", "namespaces[ok].history_ttl"}
	var got []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ce *ConfigError
		if errors.As(err, &ce) {
			got = append(got, ce.Key)
		}
	}
	walk(err)
	if len(got) != len(want) {
		t.Fatalf("keys %q, want %q\n%v", got, want, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d names %q, want %q", i, got[i], want[i])
		}
	}
}
