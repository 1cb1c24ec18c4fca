package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// canonicalJSON checks that b is one JSON value and returns it in the form
// PostgreSQL's jsonb gives back, without white space: object keys sorted
// shorter first then bytewise, the last of duplicate keys kept, numbers in
// plain decimal notation with their scale (1e2 is 100, 1.50 stays 1.50),
// strings with only the escapes jsonb writes. Every backend stores this form,
// so a message reads back byte for byte the same on SQLite and PostgreSQL.
//
// Input jsonb refuses is refused too: \u0000, lone surrogates, exponents
// beyond ±1000.
func canonicalJSON(b []byte) (json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(b))
	if err := canonicalValue(dec, &out); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return out.Bytes(), nil
}

type member struct {
	key   string
	value []byte
}

func canonicalValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			var members []member
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key := kt.(string)
				if err := checkString(key); err != nil {
					return err
				}
				var v bytes.Buffer
				if err := canonicalValue(dec, &v); err != nil {
					return err
				}
				members = append(members, member{key, v.Bytes()})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			// Stable sort keeps duplicates in input order; the last wins.
			slices.SortStableFunc(members, func(a, b member) int {
				if len(a.key) != len(b.key) {
					return len(a.key) - len(b.key)
				}
				return strings.Compare(a.key, b.key)
			})
			out.WriteByte('{')
			first := true
			for i, m := range members {
				if i+1 < len(members) && members[i+1].key == m.key {
					continue
				}
				if !first {
					out.WriteByte(',')
				}
				first = false
				writeString(out, m.key)
				out.WriteByte(':')
				out.Write(m.value)
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := canonicalValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
		}
	case string:
		if err := checkString(t); err != nil {
			return err
		}
		writeString(out, t)
	case json.Number:
		return writeNumber(out, string(t))
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}

// checkString refuses what jsonb cannot hold: NUL, and the replacement
// character the decoder puts for a lone surrogate escape. (A literal U+FFFD
// is refused with it: the decoder does not tell the two apart.)
func checkString(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New(`contains \u0000`)
	}
	if strings.ContainsRune(s, utf8.RuneError) {
		return errors.New("contains a lone surrogate or U+FFFD")
	}
	return nil
}

// writeString writes s quoted as jsonb does: escapes for ", \ and control
// characters only.
func writeString(out *bytes.Buffer, s string) {
	out.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(out, `\u%04x`, c)
			} else {
				out.WriteByte(c)
			}
		}
	}
	out.WriteByte('"')
}

// maxExponent is the largest exponent PostgreSQL's numeric accepts.
const maxExponent = 1000

// writeNumber writes a JSON number as PostgreSQL's numeric prints it: plain
// notation, scale = digits after the point minus the exponent (at least 0),
// no sign on zero.
func writeNumber(out *bytes.Buffer, s string) error {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e := s[i+1:]
		sign := 1
		switch {
		case strings.HasPrefix(e, "-"):
			sign, e = -1, e[1:]
		case strings.HasPrefix(e, "+"):
			e = e[1:]
		}
		e = strings.TrimLeft(e, "0")
		if len(e) > 4 {
			return fmt.Errorf("number %s: exponent beyond ±%d", s, maxExponent)
		}
		for _, d := range e {
			exp = exp*10 + int(d-'0')
		}
		exp *= sign
		if exp > maxExponent || exp < -maxExponent {
			return fmt.Errorf("number %s: exponent beyond ±%d", s, maxExponent)
		}
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	digits := intPart + frac
	scale := len(frac) - exp // value = digits × 10^-scale
	if scale < 0 {
		digits += strings.Repeat("0", -scale)
		scale = 0
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	whole := strings.TrimLeft(digits[:len(digits)-scale], "0")
	if whole == "" {
		whole = "0"
	}
	fraction := digits[len(digits)-scale:]
	if neg && strings.Trim(whole+fraction, "0") != "" {
		out.WriteByte('-')
	}
	out.WriteString(whole)
	if scale > 0 {
		out.WriteByte('.')
		out.WriteString(fraction)
	}
	return nil
}
