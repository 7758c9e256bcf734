package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uniws/uniws/core"
)

func TestGenconfigRoundTripsInEveryFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		file string
	}{
		{nil, "config.json"},
		{[]string{"--format", "yaml"}, "config.yaml"},
		{[]string{"--format", "toml"}, "config.toml"},
		{[]string{"sub/dev.yml"}, "sub/dev.yml"},
		{[]string{"other.toml", "--format", "toml"}, "other.toml"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			gen := e.run(append([]string{"genconfig"}, tc.args...)...)
			gen.expect(t, ExitOK)
			path := filepath.Join(e.workDir, tc.file)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			cfg, rep, err := core.LoadConfigReport(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Centrifugo || len(rep.Warnings) != 0 || len(cfg.TokenHMACSecretKey) < 32 || len(cfg.APIKey) < 32 ||
				!cfg.UniWebSocket || !cfg.UserSubscribeToPersonal {
				t.Errorf("generated config %+v %+v", cfg, rep)
			}
			if out := gen.errOut.String(); strings.Contains(out, cfg.TokenHMACSecretKey) || strings.Contains(out, cfg.APIKey) {
				t.Errorf("genconfig printed a secret: %s", out)
			}
			check := e.run("checkconfig", "-c", path)
			check.expect(t, ExitOK)
			if !strings.Contains(check.out.String(), "ok: the configuration is valid (0 warnings)") {
				t.Errorf("checkconfig:\n%s", check.out)
			}
		})
	}
}

func TestGenconfigExitCodes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.run("genconfig").expect(t, ExitOK)
	first, err := core.LoadConfig(filepath.Join(e.workDir, "config.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	again := e.run("genconfig")
	again.expect(t, ExitError)
	if !strings.Contains(again.errOut.String(), "--force") {
		t.Errorf("no hint about --force: %s", again.errOut)
	}
	e.run("genconfig", "--force").expect(t, ExitOK)
	second, err := core.LoadConfig(filepath.Join(e.workDir, "config.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.TokenHMACSecretKey == second.TokenHMACSecretKey || first.APIKey == second.APIKey {
		t.Error("secrets were not renewed")
	}
	e.run("genconfig", "--format", "xml").expect(t, ExitUsage)
	e.run("genconfig", "a.json", "--format", "yaml").expect(t, ExitUsage)
	e.run("genconfig", "a", "b").expect(t, ExitUsage)

	out := e.run("genconfig", "-", "--format", "toml")
	out.expect(t, ExitOK)
	cfg, err := core.ParseConfig("toml", []byte(out.out.String()), nil)
	if err != nil || len(cfg.TokenHMACSecretKey) < 32 {
		t.Errorf("stdout config: %v\n%s", err, out.out)
	}
}

func TestCheckconfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		path  string
		code  int
		want  []string
		never []string
	}{
		{"seed config", "../testdata/config/seed.json", ExitOK, []string{
			"seed.json: uniws flat keys", "warning: api_key is not set", "ok: the configuration is valid (1 warning)"}, nil},
		{"centrifugo genconfig", "../testdata/config/centrifugo-genconfig.yaml", ExitOK, []string{
			"centrifugo-genconfig.yaml: Centrifugo v6 nested keys",
			"warning: admin.password, admin.secret: Centrifugo's admin web UI is not part of uniws; ignored",
			"warning: uni_websocket.enabled is not true"},
			[]string{"5B9bM71zekvJ4n4HMBGO05Y8JCA2Oe6CnMcmnXzyviUq2E06QVgHXi0sC7k-78XYfUSsaRSAAxS0dYBCpgjldg", "cchw3zPrgbzaQAdDwFMflg"}},
		{"every problem of a Centrifugo file", write("bad.json", `{"client":{"token":{"hmac_secret_kye":"x"},"ping_interval":"1s"},"http_server":{"port":"http"}}`), ExitError, []string{
			"error: client.token.hmac_secret_kye: unknown key (did you mean client.token.hmac_secret_key?)",
			`error: http_server.port: bad port "http"`,
			"error: client.ping_interval: 1s must be greater than pong_timeout 8s",
			"is not valid: 3 problems"}, nil},
		{"validation problems of a flat file", write("flat.json", `{"token_hmac_secret_key":"s","ping_interval":"5s","namespaces":[{"name":"x"}]}`), ExitError, []string{
			"error: ping_interval: 5s must be greater than pong_timeout 8s",
			`error: namespaces: namespace name "x" must match`}, nil},
		{"every problem, with a value that does not decode", write("mixed.json", `{"token_hmac_secret_key":"s","ping_interval":"1s","port":"x","namespaces":[{"name":"a"}],"history_size":-1}`), ExitError, []string{
			`error: port: bad port "x"`,
			"error: ping_interval: 1s must be greater than pong_timeout 8s",
			"error: history_size: must not be negative",
			`error: namespaces: namespace name "a" must match`,
			"is not valid: 4 problems"}, nil},
		{"a value that does not decode is not checked again", write("undecoded.json", `{"token_hmac_secret_key":"s","ping_interval":"abc","pong_timeout":"30s"}`), ExitError, []string{
			`error: ping_interval: bad duration "abc"`, "is not valid: 1 problem"}, nil},
		{"a one-word key in another problem's text hides nothing", write("prose.json", `{"token_hmac_secret_key":"s","port":"abc","engine":"redis","redis_address":"justahost"}`), ExitError, []string{
			`error: port: bad port "abc"`, "error: redis_address:", "is not valid: 2 problems"}, nil},
		{"nor named by another key's check", write("undecoded2.json", `{"token_hmac_secret_key":"s","ping_interval":"5s","pong_timeout":"abc"}`), ExitError, []string{
			`error: pong_timeout: bad duration "abc"`, "is not valid: 1 problem"}, nil},
		{"credentials in URLs are not printed", write("creds.json", `{"token_hmac_secret_key":"s","engine":"redis","redis_address":"redis://u:REDIS%zzPASS@host:6379","token_jwks_public_endpoint":"ftp://u:JWKSPASS@idp/jwks"}`), ExitError, []string{
			`error: redis_address: "redis://u:xxxxx@host:6379": not a URL`,
			`error: token_jwks_public_endpoint: "ftp://u:xxxxx@idp/jwks" is not an http:// or https:// URL`},
			[]string{"PASS"}},
		{"credentials in addresses listed twice or not parsing", write("creds2.json", `{"token_hmac_secret_key":"s","engine":"redis","redis_addresses":["redis://u:TWICEPASS@h:6379","redis://u:TWICEPASS@h:6379"],"proxy_connect_endpoint":"http://u:Sec/retPASS@h/x"}`), ExitError, []string{
			`"redis://u:xxxxx@h:6379" is listed twice`},
			[]string{"PASS"}},
		{"a dotted key in a Centrifugo file", write("dotted.yaml", "client.ping_interval: 5s\nclient:\n  token:\n    hmac_secret_key: s\n"), ExitError, []string{
			"error: client.ping_interval: unknown key: a key with dots in its name is not nested"},
			[]string{"did you mean"}},
		{"uni_websocket false is served all the same", write("uwfalse.json", `{"token_hmac_secret_key":"s","api_key":"k","uni_websocket":false}`), ExitOK, []string{
			"warning: uni_websocket is false: uniws serves the uni_websocket endpoint all the same"}, nil},
		{"no key anywhere", write("nokey.json", `{"api_key":"k"}`), ExitError, []string{
			"error: token_hmac_secret_key: no token key is configured"}, nil},
		{"no key in a Centrifugo file", write("nokey.yaml", "http_api:\n  key: k\n"), ExitError, []string{
			"error: client.token.hmac_secret_key: no token key is configured"}, nil},
		{"bad PEM", write("pem.json", `{"token_rsa_public_key":"not a pem"}`), ExitError, []string{"error: token_rsa_public_key:"}, nil},
		{"unparsable file", write("broken.toml", "a = = b"), ExitError, []string{"error: parse config"}, nil},
		{"missing file", filepath.Join(dir, "missing.json"), ExitError, []string{"no such file"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			r := e.run("checkconfig", "-c", tc.path)
			r.expect(t, tc.code)
			all := r.out.String() + r.errOut.String()
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(all, w) {
					t.Errorf("output holds %q:\n%s", w, all)
				}
			}
		})
	}
}
