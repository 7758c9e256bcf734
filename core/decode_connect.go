package core

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var connectFields = []string{"token", "data", "name", "version", "subs", "headers"}

// decodeConnect decodes a connect request as json.Unmarshal would.
func decodeConnect(b []byte, req *ConnectRequest) error {
	r := jsonReader{b: b}
	return r.document("connect request", func(key []byte) (err error) {
		switch matchField(key, connectFields) {
		case 0:
			req.Token, err = r.stringField("token", req.Token)
		case 1:
			req.Data, err = r.raw(1)
		case 2:
			req.Name, err = r.stringField("name", req.Name)
		case 3:
			req.Version, err = r.stringField("version", req.Version)
		case 4:
			req.Subs, err = r.subscribeRequests()
		case 5:
			req.Headers, err = r.stringMap("headers", 1)
		default:
			err = r.skip(1)
		}
		return err
	})
}

var subscribeFields = []string{"recover", "offset", "epoch"}

// subscribeRequests decodes the subs member of a connect request.
func (r *jsonReader) subscribeRequests() (map[string]*SubscribeRequest, error) {
	if null, err := r.null(); null || err != nil {
		return nil, err
	}
	subs := make(map[string]*SubscribeRequest)
	err := r.object("subs", func(key []byte) error {
		channel := string(key)
		if null, err := r.null(); err != nil || null {
			subs[channel] = nil
			return err
		}
		sr := &SubscribeRequest{}
		subs[channel] = sr
		return r.object("subscription", func(key []byte) (err error) {
			switch matchField(key, subscribeFields) {
			case 0:
				switch r.next() {
				case 't':
					err = r.literal("true")
					sr.Recover = true
				case 'f':
					err = r.literal("false")
					sr.Recover = false
				case 'n':
					err = r.literal("null")
				default:
					err = r.typeError("recover", "bool")
				}
			case 1:
				sr.Offset, err = r.uintField("offset", sr.Offset)
			case 2:
				sr.Epoch, err = r.stringField("epoch", sr.Epoch)
			default:
				err = r.skip(3)
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return subs, nil
}

// uintField decodes an unsigned integer member; null leaves cur as it was.
func (r *jsonReader) uintField(field string, cur uint64) (uint64, error) {
	switch c := r.next(); {
	case c == 'n':
		return cur, r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		lit, err := r.number()
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseUint(string(lit), 10, 64)
		if err != nil {
			return 0, r.errorf("cannot decode number %s into field %s of type uint64", lit, field)
		}
		return n, nil
	}
	return 0, r.typeError(field, "uint64")
}

// stringMap decodes an object of strings (null values become "") that
// open arrays and objects enclose.
func (r *jsonReader) stringMap(field string, open int) (map[string]string, error) {
	if null, err := r.null(); null || err != nil {
		return nil, err
	}
	if open+1 > maxNesting {
		return nil, r.errorf("exceeded max depth")
	}
	m := make(map[string]string)
	err := r.object(field, func(key []byte) (err error) {
		k := string(key)
		m[k], err = r.stringField(field, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Token claims.

var claimFields = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"expire_at", "info", "b64info", "channels", "subs", "meta", "channel",
}

// UnmarshalJSON decodes the claims as json.Unmarshal would decode them
// through reflection (see decode.go), without the reflection: token claims
// are decoded on every connect.
func (c *ConnectClaims) UnmarshalJSON(b []byte) error {
	r := jsonReader{b: b}
	return r.document("claims", func(key []byte) (err error) {
		switch matchField(key, claimFields) {
		case 0:
			c.Issuer, err = r.stringField("iss", c.Issuer)
		case 1:
			c.Subject, err = r.stringField("sub", c.Subject)
		case 2:
			err = r.audience(&c.Audience)
		case 3:
			c.ExpiresAt, err = r.numericDate("exp")
		case 4:
			c.NotBefore, err = r.numericDate("nbf")
		case 5:
			c.IssuedAt, err = r.numericDate("iat")
		case 6:
			c.ID, err = r.stringField("jti", c.ID)
		case 7:
			c.ExpireAt, err = r.intPointer("expire_at")
		case 8:
			c.Info, err = r.raw(1)
		case 9:
			c.B64Info, err = r.stringField("b64info", c.B64Info)
		case 10:
			c.Channels, err = r.stringArray("channels", 1)
		case 11:
			c.Subs, err = r.subscribeClaims()
		case 12:
			c.Meta, err = r.raw(1)
		case 13:
			c.Channel, err = r.stringField("channel", c.Channel)
		default:
			err = r.skip(1)
		}
		return err
	})
}

// numericDate decodes a NumericDate as jwt.NumericDate.UnmarshalJSON does:
// a number, or a string holding one, in seconds; null is no date.
func (r *jsonReader) numericDate(field string) (*jwt.NumericDate, error) {
	var lit []byte
	var err error
	switch c := r.next(); {
	case c == 'n':
		return nil, r.literal("null")
	case c == '"':
		if lit, err = r.str(); err == nil && !isValidNumber(lit) {
			err = r.errorf("could not parse NumericDate %s: invalid number literal %q", field, lit)
		}
	case c == '-' || '0' <= c && c <= '9':
		lit, err = r.number()
	default:
		return nil, r.typeError(field, "NumericDate")
	}
	if err != nil {
		return nil, err
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return nil, r.errorf("could not parse NumericDate %s: %v", field, err)
	}
	round, frac := math.Modf(f)
	return jwt.NewNumericDate(time.Unix(int64(round), int64(frac*1e9))), nil
}

// intPointer decodes an int64 member; null is nil.
func (r *jsonReader) intPointer(field string) (*int64, error) {
	switch c := r.next(); {
	case c == 'n':
		return nil, r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		lit, err := r.number()
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(string(lit), 10, 64)
		if err != nil {
			return nil, r.errorf("cannot decode number %s into field %s of type int64", lit, field)
		}
		return &n, nil
	}
	return nil, r.typeError(field, "int64")
}

// errInvalidAudience is jwt.ClaimStrings' answer to anything but a string
// or an array of strings.
var errInvalidAudience = errors.New("aud: want a string or an array of strings")

// audience decodes aud as jwt.ClaimStrings.UnmarshalJSON does: a string or
// an array of strings; null leaves it as it was.
func (r *jsonReader) audience(aud *jwt.ClaimStrings) error {
	switch r.next() {
	case 'n':
		return r.literal("null")
	case '"':
		s, err := r.str()
		if err != nil {
			return err
		}
		*aud = jwt.ClaimStrings{string(s)}
		return nil
	case '[':
		var out jwt.ClaimStrings
		r.i++
		for first := true; ; first = false {
			more, err := r.elem(first)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			if r.next() != '"' {
				if err := r.skip(2); err != nil {
					return err
				}
				return errInvalidAudience
			}
			s, err := r.str()
			if err != nil {
				return err
			}
			out = append(out, string(s))
		}
		*aud = out
		return nil
	}
	if err := r.skip(1); err != nil {
		return err
	}
	return errInvalidAudience
}

// stringArray decodes an array of strings (null elements become "").
func (r *jsonReader) stringArray(field string, open int) ([]string, error) {
	if null, err := r.null(); null || err != nil {
		return nil, err
	}
	if r.next() != '[' {
		return nil, r.typeError(field, "array")
	}
	if open+1 > maxNesting {
		return nil, r.errorf("exceeded max depth")
	}
	r.i++
	out := []string{}
	for first := true; ; first = false {
		more, err := r.elem(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return out, nil
		}
		s, err := r.stringField(field, "")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
}

var subscribeClaimFields = []string{"info", "b64info", "data", "b64data", "override"}

// subscribeClaims decodes a token's subs claim.
func (r *jsonReader) subscribeClaims() (map[string]SubscribeClaims, error) {
	if null, err := r.null(); null || err != nil {
		return nil, err
	}
	subs := make(map[string]SubscribeClaims)
	err := r.object("subs", func(key []byte) error {
		channel := string(key)
		var sc SubscribeClaims
		if null, err := r.null(); err != nil || null {
			subs[channel] = sc
			return err
		}
		err := r.object("subscription", func(key []byte) (err error) {
			switch matchField(key, subscribeClaimFields) {
			case 0:
				sc.Info, err = r.raw(3)
			case 1:
				sc.B64Info, err = r.stringField("b64info", sc.B64Info)
			case 2:
				sc.Data, err = r.raw(3)
			case 3:
				sc.B64Data, err = r.stringField("b64data", sc.B64Data)
			case 4:
				sc.Override, err = r.raw(3)
			default:
				err = r.skip(3)
			}
			return err
		})
		subs[channel] = sc
		return err
	})
	if err != nil {
		return nil, err
	}
	return subs, nil
}

// Compile-time check: the claims decode themselves.
var _ json.Unmarshaler = (*ConnectClaims)(nil)
