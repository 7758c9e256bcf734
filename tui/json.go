package tui

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// compactJSON returns data on one line, or false when it is not JSON.
func compactJSON(data []byte) (string, bool) {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return "", false
	}
	return b.String(), true
}

// prettyJSON returns data indented, one element per line, keeping the key
// order; data that is not JSON is returned as its lines.
func prettyJSON(data []byte) []string {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	}
	return strings.Split(b.String(), "\n")
}

// paint is a style reduced to the escape sequences around its text, so
// that colouring a token costs two string copies instead of a render.
type paint struct{ pre, post string }

func paintOf(st lipgloss.Style) paint {
	r := st.Render("\x00")
	i := strings.IndexByte(r, 0)
	if i < 0 {
		return paint{}
	}
	return paint{pre: r[:i], post: r[i+1:]}
}

func (p paint) on(b *strings.Builder, tok string) {
	b.WriteString(p.pre)
	b.WriteString(tok)
	b.WriteString(p.post)
}

// jsonPaint colours JSON tokens.
type jsonPaint struct{ key, str, num, boolean, null, punct paint }

func newJSONPaint(s Styles) jsonPaint {
	return jsonPaint{
		key: paintOf(s.JSONKey), str: paintOf(s.JSONString), num: paintOf(s.JSONNumber),
		boolean: paintOf(s.JSONBool), null: paintOf(s.JSONNull), punct: paintOf(s.JSONPunct),
	}
}

// json colours one line of JSON: keys, strings, numbers, literals and
// punctuation. Text that is not JSON is returned with what it recognises
// coloured and the rest unchanged.
func (s jsonPaint) json(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '"':
			j := stringEnd(line, i)
			tok := line[i:j]
			k := j
			for k < len(line) && (line[k] == ' ' || line[k] == '\t') {
				k++
			}
			if k < len(line) && line[k] == ':' {
				s.key.on(&b, tok)
			} else {
				s.str.on(&b, tok)
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(line) && strings.IndexByte("0123456789.eE+-", line[j]) >= 0 {
				j++
			}
			s.num.on(&b, line[i:j])
			i = j
		case strings.HasPrefix(line[i:], "true"), strings.HasPrefix(line[i:], "false"):
			n := 4
			if c == 'f' {
				n = 5
			}
			s.boolean.on(&b, line[i:i+n])
			i += n
		case strings.HasPrefix(line[i:], "null"):
			s.null.on(&b, "null")
			i += 4
		case strings.IndexByte("{}[],:", c) >= 0:
			s.punct.on(&b, line[i:i+1])
			i++
		default:
			j := i + 1
			for j < len(line) && strings.IndexByte("\"-0123456789tfn{}[],:", line[j]) < 0 {
				j++
			}
			b.WriteString(line[i:j])
			i = j
		}
	}
	return b.String()
}

// stringEnd returns the index just past the JSON string starting at i, or
// the end of the line when it is not closed.
func stringEnd(line string, i int) int {
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(line)
}
