package core

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written decoder for the two JSON documents every connection brings:
// the connect request and its token's claims. It accepts exactly the texts
// encoding/json accepts (RFC 8259, nesting at most 10,000 deep) and decodes
// them as json.Unmarshal would into the same structs: field names match
// case-insensitively, null leaves a string or bool as it was, invalid UTF-8
// in strings becomes U+FFFD, raw values are copied verbatim. The one
// deliberate difference: when a name repeats, its last value replaces
// earlier ones whole (json.Unmarshal merges repeated objects and arrays).
//
// It exists because decoding through reflection was a fifth of the CPU of a
// connect storm, and its deep recursion grew every handshake goroutine's
// stack; this one allocates only what it returns and does not recurse.

// maxNesting is encoding/json's limit on nested arrays and objects.
const maxNesting = 10000

// SyntaxError is a decoding error at a byte offset of the input.
type SyntaxError struct {
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s (offset %d)", e.msg, e.Offset)
}

// jsonReader is a cursor over one JSON text.
type jsonReader struct {
	b []byte
	i int
}

func (r *jsonReader) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: r.i, msg: fmt.Sprintf(format, args...)}
}

func (r *jsonReader) unexpected(what string) error {
	if r.i >= len(r.b) {
		return r.errorf("unexpected end of JSON input, want %s", what)
	}
	return r.errorf("invalid character %s, want %s", quoteChar(r.b[r.i]), what)
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= 0x7f:
		return strconv.Quote(string(rune(c)))
	}
	return "'" + string(rune(c)) + "'"
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte (0 at the end).
func (r *jsonReader) next() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// end checks that only whitespace follows the top-level value.
func (r *jsonReader) end() error {
	if r.next() != 0 || r.i < len(r.b) {
		return r.errorf("invalid character %s after top-level value", quoteChar(r.b[r.i]))
	}
	return nil
}

// null consumes a null literal if one is next.
func (r *jsonReader) null() (bool, error) {
	if r.next() != 'n' {
		return false, nil
	}
	return true, r.literal("null")
}

func (r *jsonReader) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if r.i >= len(r.b) || r.b[r.i] != lit[k] {
			return r.unexpected("literal " + lit)
		}
		r.i++
	}
	return nil
}

// begin consumes the opening bracket of an object or array.
func (r *jsonReader) begin(open byte) error {
	if r.next() != open {
		return r.unexpected(string(open))
	}
	r.i++
	return nil
}

// field moves to the next member of an object that begin('{') opened. It
// returns the member's name (valid until the next call; it may alias the
// input) with the reader on the value, or ok=false after the closing brace.
func (r *jsonReader) field(first bool) (key []byte, ok bool, err error) {
	c := r.next()
	switch {
	case c == '}':
		r.i++
		return nil, false, nil
	case !first && c != ',':
		return nil, false, r.unexpected("',' or '}' after object value")
	case !first:
		r.i++
		if r.next() != '"' {
			return nil, false, r.unexpected("object key")
		}
	case c != '"':
		return nil, false, r.unexpected("object key or '}'")
	}
	key, err = r.str()
	if err != nil {
		return nil, false, err
	}
	if r.next() != ':' {
		return nil, false, r.unexpected("':' after object key")
	}
	r.i++
	return key, true, nil
}

// document decodes a JSON text that is an object (or null, which decodes to
// nothing), calling member with each member's name and the reader on its
// value; member must consume the value.
func (r *jsonReader) document(what string, member func(key []byte) error) error {
	if null, err := r.null(); err != nil || null {
		if err == nil {
			err = r.end()
		}
		return err
	}
	if err := r.object(what, member); err != nil {
		return err
	}
	return r.end()
}

// object decodes an object value like document, without the end check.
func (r *jsonReader) object(what string, member func(key []byte) error) error {
	if r.next() != '{' {
		return r.typeError(what, "object")
	}
	r.i++
	for first := true; ; first = false {
		key, ok, err := r.field(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := member(key); err != nil {
			return err
		}
	}
}

// elem moves to the next element of an array that begin('[') opened, or
// returns false after the closing bracket.
func (r *jsonReader) elem(first bool) (bool, error) {
	c := r.next()
	switch {
	case c == ']':
		r.i++
		return false, nil
	case first:
		return true, nil
	case c != ',':
		return false, r.unexpected("',' or ']' after array element")
	}
	r.i++
	return true, nil
}

// str reads a string. Without escapes or invalid UTF-8 the result aliases
// the input; otherwise it is decoded into a new slice.
func (r *jsonReader) str() ([]byte, error) {
	if r.next() != '"' {
		return nil, r.unexpected("string")
	}
	r.i++
	start := r.i
	ascii := true
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(s) {
				return appendUnquoted(nil, s), nil
			}
			return s, nil
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			return nil, r.errorf("invalid character %s in string literal", quoteChar(c))
		case c >= utf8.RuneSelf:
			ascii = false
		}
		r.i++
	}
	return nil, r.unexpected("closing '\"'")
}

// escaped finishes a string that holds escapes, validating them, and
// decodes it.
func (r *jsonReader) escaped(start int) ([]byte, error) {
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			return appendUnquoted(make([]byte, 0, len(s)), s), nil
		case c == '\\':
			r.i++
			if r.i >= len(r.b) {
				return nil, r.unexpected("escape")
			}
			switch r.b[r.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i++
			case 'u':
				r.i++
				for k := 0; k < 4; k++ {
					if r.i >= len(r.b) || !isHex(r.b[r.i]) {
						return nil, r.unexpected("hexadecimal digit in \\u escape")
					}
					r.i++
				}
			default:
				return nil, r.errorf("invalid character %s in string escape code", quoteChar(r.b[r.i]))
			}
		case c < 0x20:
			return nil, r.errorf("invalid character %s in string literal", quoteChar(c))
		default:
			r.i++
		}
	}
	return nil, r.unexpected("closing '\"'")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendUnquoted decodes the body of a validated string literal as
// encoding/json does: escapes resolved, unpaired surrogates and invalid
// UTF-8 replaced by U+FFFD.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			i++
			switch s[i] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[i+1:])
				i += 4
				if utf16.IsSurrogate(rr) {
					if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[i+3:])); dec != unicode.ReplacementChar {
							dst = utf8.AppendRune(dst, dec)
							i += 7
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
			default: // '"', '\\', '/'
				dst = append(dst, s[i])
			}
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			rr, n := utf8.DecodeRune(s[i:])
			if rr == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, unicode.ReplacementChar)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// number reads a number literal and returns it.
func (r *jsonReader) number() ([]byte, error) {
	r.ws()
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.b) && r.b[r.i] == '0':
		r.i++
	case r.i < len(r.b) && '1' <= r.b[r.i] && r.b[r.i] <= '9':
		r.digits()
	default:
		return nil, r.unexpected("digit")
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if r.digits() == 0 {
			return nil, r.unexpected("digit after decimal point")
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if r.digits() == 0 {
			return nil, r.unexpected("digit in exponent")
		}
	}
	return r.b[start:r.i], nil
}

func (r *jsonReader) digits() int {
	n := 0
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}

// isValidNumber reports whether s is a JSON number literal.
func isValidNumber(s []byte) bool {
	r := jsonReader{b: s}
	_, err := r.number()
	return err == nil && r.i == len(s)
}

// skip validates and skips one value. open is how many arrays and objects
// enclose it; the value's own nesting counts on top of them.
func (r *jsonReader) skip(open int) error { return r.skipValue(open, false) }

// skipAny is skip for a value that encoding/json would decode into an
// interface{}: a number must also fit a float64.
func (r *jsonReader) skipAny(open int) error { return r.skipValue(open, true) }

func (r *jsonReader) skipValue(open int, floats bool) error {
	var stackBuf [32]byte
	stack := stackBuf[:0] // the open brackets of this value
	for {
		// A value.
		switch c := r.next(); c {
		case '{', '[':
			if open+len(stack)+1 > maxNesting {
				return r.errorf("exceeded max depth")
			}
			r.i++
			stack = append(stack, c)
			close := byte('}')
			if c == '[' {
				close = ']'
			}
			if r.next() == close {
				r.i++
				stack = stack[:len(stack)-1]
				break
			}
			if c == '{' {
				if _, err := r.key(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if _, err := r.str(); err != nil {
				return err
			}
		case 't':
			if err := r.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := r.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := r.literal("null"); err != nil {
				return err
			}
		default:
			lit, err := r.number()
			if err != nil {
				return r.unexpected("value")
			}
			if floats {
				if _, err := strconv.ParseFloat(string(lit), 64); err != nil {
					return r.errorf("number %s does not fit a float64", lit)
				}
			}
		}
		// After a value: close containers, or move to the next member.
		for {
			if len(stack) == 0 {
				return nil
			}
			top := stack[len(stack)-1]
			c := r.next()
			switch {
			case c == ',':
				r.i++
				if top == '{' {
					if _, err := r.key(); err != nil {
						return err
					}
				}
			case top == '{' && c == '}', top == '[' && c == ']':
				r.i++
				stack = stack[:len(stack)-1]
				continue
			case top == '{':
				return r.unexpected("',' or '}' after object value")
			default:
				return r.unexpected("',' or ']' after array element")
			}
			break
		}
	}
}

// key reads an object key and the colon after it, validating only.
func (r *jsonReader) key() ([]byte, error) {
	if r.next() != '"' {
		return nil, r.unexpected("object key")
	}
	k, err := r.str()
	if err != nil {
		return nil, err
	}
	if r.next() != ':' {
		return nil, r.unexpected("':' after object key")
	}
	r.i++
	return k, nil
}

// raw validates one value and returns a copy of its bytes.
func (r *jsonReader) raw(open int) ([]byte, error) {
	r.ws()
	start := r.i
	if err := r.skip(open); err != nil {
		return nil, err
	}
	return append([]byte(nil), r.b[start:r.i]...), nil
}

// typeError reports a value of the wrong JSON type for a field.
func (r *jsonReader) typeError(field, want string) error {
	got := "value"
	switch r.next() {
	case '{':
		got = "object"
	case '[':
		got = "array"
	case '"':
		got = "string"
	case 't', 'f':
		got = "bool"
	case 'n':
		got = "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		got = "number"
	}
	return r.errorf("cannot decode %s into field %s of type %s", got, field, want)
}

// stringField decodes a string member; null leaves cur as it was.
func (r *jsonReader) stringField(field, cur string) (string, error) {
	switch r.next() {
	case '"':
		s, err := r.str()
		if err != nil {
			return "", err
		}
		return string(s), nil
	case 'n':
		return cur, r.literal("null")
	}
	return "", r.typeError(field, "string")
}

// foldName is encoding/json's case folding of member names.
func foldName(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune is the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// matchField returns the index of the name in names (lower-case ASCII)
// that key equals, or equals after case folding; -1 if none.
func matchField(key []byte, names []string) int {
	for k, name := range names {
		if string(key) == name {
			return k
		}
	}
	folded := foldName(key)
	for k, name := range names {
		if string(folded) == string(foldName([]byte(name))) {
			return k
		}
	}
	return -1
}
