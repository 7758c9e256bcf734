package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// The hand-written decoders are held against encoding/json: for every input
// both accept or both refuse, and what they accept decodes to equal values.
// Only inputs whose objects repeat a member name are left out of the
// comparison, since there json.Unmarshal merges what decode.go replaces.

// refClaims decodes through reflection: the conversion drops
// ConnectClaims.UnmarshalJSON but keeps jwt's NumericDate and ClaimStrings
// decoders.
type refClaims ConnectClaims

func refDecodeConnect(b []byte) (*ConnectRequest, error) {
	var req ConnectRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

// repeatsName reports whether any object in the valid JSON text b has two
// members whose names fold to the same name.
func repeatsName(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object   bool
		names    map[string]bool
		keyStage bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.keyStage
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.keyStage = true
				}
				stack = append(stack, &frame{object: t == '{', names: map[string]bool{}, keyStage: true})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if isKey {
				name := string(foldName([]byte(t)))
				if top.names[name] {
					return true
				}
				top.names[name] = true
				top.keyStage = false
				continue
			}
		}
		if top != nil && top.object {
			top.keyStage = true
		}
	}
}

func checkConnectAgainstReference(t *testing.T, data []byte) {
	t.Helper()
	got, err := decodeConnectOnly(data)
	want, refErr := refDecodeConnect(data)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("%q: decode error %v, encoding/json error %v", data, err, refErr)
	}
	if err != nil || repeatsName(data) {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
}

func decodeConnectOnly(b []byte) (*ConnectRequest, error) {
	var req ConnectRequest
	if err := decodeConnect(b, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

func checkClaimsAgainstReference(t *testing.T, data []byte) {
	t.Helper()
	var got ConnectClaims
	err := json.Unmarshal(data, &got)
	var want refClaims
	refErr := json.Unmarshal(data, &want)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("%q: decode error %v, encoding/json error %v", data, err, refErr)
	}
	if err != nil || repeatsName(data) {
		return
	}
	if !reflect.DeepEqual(got, ConnectClaims(want)) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
}

var decodeCases = []string{
	``, ` `, `null`, ` null `, `nul`, `{}`, `[]`, `"x"`, `1`, `true`, `{} {}`, `{}x`, `{`, `}`, `{"a"}`, `{"a":}`,
	`{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{'a':1}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`,
	`{"a":1e+}`, `{"a":-0.0e-0}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":{"b":[{}]}}`, `{"a":tru}`,
	`{"a":nulll}`, `{"a":"\x01"}`, "{\"a\":\"\t\"}", `{"a":"\q"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`,
	"{\"token\":\"t\x00\"}", `{"token":"a\"b\\c\/d\b\f\n\r\t"}`, `{"token":"\u00e9\u20AC\ud83d\ude00"}`,
	`{"token":"\ud83d"}`, `{"token":"\ud83dx"}`, `{"token":"\ud83d\u0041"}`, `{"token":"\ude00\ud83d"}`,
	"{\"token\":\"\xff\xfe\"}", "{\"token\":\"\xe2\x82\"}", "{\"token\":\"\xc3\xa9\"}", "{\"tok\xffen\":\"t\"}",
	`{"token":1}`, `{"token":null}`, `{"token":"t","token":null}`, `{"TOKEN":"t"}`, `{"Token":"t","name":"n"}`,
	"{\"to\u212aen\":\"kelvin\"}", `{"to\u006ben":"escaped key"}`, `{"token":"t"} x`, `{"token":"t"}` + "\n\t\r ",
	`{"token":"t","subs":{"abc":{}}}`, `{"token":"t","subs":{"a":null,"b":{"recover":true,"offset":5,"epoch":"e"}}}`,
	`{"data":{"x": 1},"name":"n","version":"v","headers":{"a":"b"},"unknown":[1]}`, `{"data":null}`, `{"data": [1, {"a" : "b"}] }`,
	`{"subs":{"a":{"offset":-1}}}`, `{"subs":{"a":{"offset":1.0}}}`, `{"subs":{"a":{"offset":1e3}}}`,
	`{"subs":{"a":{"offset":18446744073709551615}}}`, `{"subs":{"a":{"offset":18446744073709551616}}}`,
	`{"subs":{"a":{"offset":"5"}}}`, `{"subs":{"a":{"recover":1}}}`, `{"subs":{"a":{"recover":null,"epoch":null}}}`,
	`{"subs":{"a":[]}}`, `{"subs":[]}`, `{"subs":null}`, `{"subs":{}}`, `{"subs":{"a":{"RECOVER":true,"x":{"y":[]}}}}`,
	`{"headers":{"a":null}}`, `{"headers":{"a":1}}`, `{"headers":[]}`, `{"headers":{}}`, `{"name":{}}`, `{"version":[]}`,
	`{"a":1}garbage`, "\xef\xbb\xbf{}",
	"{\"vers\u0131on\":\"dotless i\"}", "{\"TOKEN\u0130\":\"x\"}", "{\"\u017fubs\":{}}", `{"token":"t","x":1e400}`,
}

var claimCases = []string{
	`{}`, `null`, `[]`, `"x"`, `{"sub":"u","exp":1700000000,"iat":1.5,"nbf":-3}`, `{"exp":"1700000000"}`,
	`{"exp":" 1"}`, `{"exp":"1e400"}`, `{"exp":1e400}`, `{"exp":1e-400}`, `{"exp":true}`, `{"exp":null}`, `{"exp":{}}`,
	`{"exp":1.999999999}`, `{"exp":-1.5}`, `{"aud":"a"}`, `{"aud":["a","b"]}`, `{"aud":[]}`, `{"aud":null}`,
	`{"aud":["a",null]}`, `{"aud":["a",1]}`, `{"aud":1}`, `{"aud":{}}`, `{"aud":[["a"]]}`, `{"AUD":"x","Sub":"y"}`,
	`{"expire_at":0}`, `{"expire_at":-1}`, `{"expire_at":1.5}`, `{"expire_at":"1"}`, `{"expire_at":null}`,
	`{"expire_at":9223372036854775808}`, `{"info":{"a":1}}`, `{"info":null}`, `{"info":"s"}`, `{"b64info":"eyJ9"}`,
	`{"channels":["a","b"]}`, `{"channels":[]}`, `{"channels":null}`, `{"channels":["a",null]}`, `{"channels":[1]}`,
	`{"channels":"a"}`, `{"subs":{"a":{"info":{"x":1},"b64info":"x","data":[1],"b64data":"y","override":{"presence":{"value":true}}}}}`,
	`{"subs":{"a":null}}`, `{"subs":{"a":1}}`, `{"subs":{}}`, `{"subs":{"a":{"extra":{}}}}`, `{"meta":{"m":[true]}}`,
	`{"channel":"c"}`, `{"jti":"j","iss":"i"}`, `{"sub":5}`, `{"unknown":{"deep":[[[]]]},"sub":"u"}`,
	`{"sub":"\u0075\ud800"}`, "{\"sub\":\"a\xffb\"}", `{"exp":"\u0031"}`, `{"sub":"u"}x`,
}

func TestDecodeConnectMatchesEncodingJSON(t *testing.T) {
	for _, c := range decodeCases {
		checkConnectAgainstReference(t, []byte(c))
	}
	deep := func(n int) []byte {
		return []byte(`{"data":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}
	for _, n := range []int{maxNesting - 1, maxNesting, maxNesting + 1} {
		checkConnectAgainstReference(t, deep(n))
	}
	deepSubs := `{"subs":{"a":{"x":` + strings.Repeat("[", maxNesting-3) + strings.Repeat("]", maxNesting-3) + `}}}`
	checkConnectAgainstReference(t, []byte(deepSubs))
	checkConnectAgainstReference(t, []byte(strings.Replace(deepSubs, `"x":`, `"x":[`, 1)+"]"))
}

func TestClaimsMatchEncodingJSON(t *testing.T) {
	for _, c := range append(claimCases, decodeCases...) {
		checkClaimsAgainstReference(t, []byte(c))
	}
}

func TestRepeatedNamesLastWins(t *testing.T) {
	req, err := DecodeConnectRequest([]byte(`{"subs":{"a":{}},"token":"x","subs":{"b":{"offset":2}},"Token":"y"}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Token != "y" || len(req.Subs) != 1 || req.Subs["b"].Offset != 2 {
		t.Fatalf("got %+v", req)
	}
	if !repeatsName([]byte(`{"a":{"b":1,"B":2}}`)) || repeatsName([]byte(`{"a":{"b":1},"b":{"a":1}}`)) {
		t.Fatal("repeatsName is wrong")
	}
}

func TestDecodeErrorsNameTheProblem(t *testing.T) {
	for in, want := range map[string]string{
		`{"token":1}`:                  "cannot decode number into field token of type string",
		`{"subs":{"a":{"offset":-1}}}`: "cannot decode number -1 into field offset of type uint64",
		`{"token":"t"} x`:              "invalid character 'x' after top-level value (offset 14)",
		`{"token":"t`:                  "unexpected end of JSON input",
	} {
		_, err := DecodeConnectRequest([]byte(in))
		var se *SyntaxError
		if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}

func FuzzClaimsUnmarshal(f *testing.F) {
	for _, c := range claimCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkClaimsAgainstReference(t, data)
	})
}
