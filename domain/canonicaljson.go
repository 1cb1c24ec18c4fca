package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// canonicalJSON checks that b is one JSON value and returns it in the form
// PostgreSQL's jsonb gives back, without white space: object keys sorted
// shorter first then bytewise, the last of duplicate keys kept, numbers in
// plain decimal notation with their scale (1e2 is 100, 1.50 stays 1.50),
// strings with only the escapes jsonb writes. Every backend stores this form,
// so a message reads back byte for byte the same on SQLite and PostgreSQL.
//
// Input jsonb refuses is refused too: invalid UTF-8, \u0000, lone
// surrogates, exponents beyond ±1000; and so is nesting deeper than
// MaxJSONDepth.
//
// size is the length of the canonical form with every object member still
// in it: the result's length, plus that of members dropped as earlier
// duplicates of a key. When max is not negative and size grows beyond max,
// parsing stops with a sizeError: a number's canonical form can be far
// longer than its text (1e1000), so the output is bounded as it is written.
//
// The work is linear in the input (but for sorting each object's keys): the
// canonical form is written in input order first, and objects whose keys
// are out of order are reordered once, as the result is copied.
func canonicalJSON(b []byte, max int64) (out json.RawMessage, size int64, err error) {
	if !utf8.Valid(b) {
		return nil, 0, errors.New("not valid UTF-8")
	}
	p := jsonParser{in: b, max: max}
	n := int64(len(b))
	if max >= 0 && n > max {
		n = max + 1 // no overflow: max < len(b)
	}
	p.out = make([]byte, 0, n)
	i, err := p.value(p.ws(0), 0)
	if err != nil {
		return nil, 0, err
	}
	if i = p.ws(i); i != len(b) {
		return nil, 0, fmt.Errorf("unexpected %q after the JSON value at offset %d", b[i], i)
	}
	if err := p.checkSize(); err != nil {
		return nil, 0, err
	}
	return p.reordered(), int64(len(p.out)), nil
}

// MaxJSONDepth is the deepest nesting of arrays and objects that data and
// metadata may have: [[1]] is nested 2 deep. Deeper JSON is refused with
// ErrInvalidMessage. It bounds the parser's recursion (a million nested
// brackets are refused at once, without exhausting the stack), and every
// backend stores such data: PostgreSQL's jsonb accepts 1000 levels, as
// the contract suite checks, while its parser fails at some greater depth
// that depends on the server's max_stack_depth.
const MaxJSONDepth = 1000

// sizeError reports that the canonical form grew beyond the limit; its
// value is the size reached when parsing stopped.
type sizeError int64

func (e sizeError) Error() string {
	return fmt.Sprintf("larger than the limit (%d bytes so far)", int64(e))
}

// jsonParser is a recursive-descent JSON parser that writes the canonical
// form of what it reads to out.
type jsonParser struct {
	in  []byte
	out []byte  // canonical form, but objects' members in input order
	max int64   // the longest out may grow; negative for no limit
	fix []fixup // objects of out whose members must be reordered
}

// fixup is an object at out[start:end] whose members are to be written in
// another order, leaving out the earlier of duplicate keys.
type fixup struct {
	start, end int
	members    []member // in the order to write
}

// member is one member of an object: its key and its text "key":value at
// out[start:end].
type member struct {
	key        []byte
	start, end int
}

// checkSize returns a sizeError when out has grown beyond max.
func (p *jsonParser) checkSize() error {
	if p.max >= 0 && int64(len(p.out)) > p.max {
		return sizeError(len(p.out))
	}
	return nil
}

var errEnd = errors.New("unexpected end of JSON input")

func (p *jsonParser) ws(i int) int {
	for i < len(p.in) {
		switch p.in[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (p *jsonParser) syntax(i int) error {
	if i >= len(p.in) {
		return errEnd
	}
	return fmt.Errorf("invalid character %q at offset %d", p.in[i], i)
}

func (p *jsonParser) value(i, depth int) (int, error) {
	if i >= len(p.in) {
		return i, errEnd
	}
	switch c := p.in[i]; {
	case c == '{':
		if depth >= MaxJSONDepth {
			return i, fmt.Errorf("nested deeper than %d at offset %d", MaxJSONDepth, i)
		}
		return p.object(i, depth+1)
	case c == '[':
		if depth >= MaxJSONDepth {
			return i, fmt.Errorf("nested deeper than %d at offset %d", MaxJSONDepth, i)
		}
		return p.array(i, depth+1)
	case c == '"':
		s, next, err := p.str(i)
		if err != nil {
			return i, err
		}
		p.out = appendString(p.out, s)
		return next, p.checkSize()
	case c == '-' || c >= '0' && c <= '9':
		next, err := p.number(i)
		if err != nil {
			return next, err
		}
		return next, p.checkSize()
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(p.in[i:], []byte(lit)) {
				p.out = append(p.out, lit...)
				return i + len(lit), nil
			}
		}
		return i, p.syntax(i)
	}
}

func (p *jsonParser) object(i, depth int) (int, error) {
	objStart := len(p.out)
	p.out = append(p.out, '{')
	i = p.ws(i + 1)
	if i < len(p.in) && p.in[i] == '}' {
		p.out = append(p.out, '}')
		return i + 1, nil
	}
	var members []member
	sorted := true
	for {
		if i >= len(p.in) || p.in[i] != '"' {
			return i, p.syntax(i)
		}
		key, next, err := p.str(i)
		if err != nil {
			return i, err
		}
		i = p.ws(next)
		if i >= len(p.in) || p.in[i] != ':' {
			return i, p.syntax(i)
		}
		start := len(p.out)
		p.out = appendString(p.out, key)
		p.out = append(p.out, ':')
		if i, err = p.value(p.ws(i+1), depth); err != nil {
			return i, err
		}
		if n := len(members); n > 0 && compareKeys(members[n-1].key, key) >= 0 {
			sorted = false
		}
		members = append(members, member{key: key, start: start, end: len(p.out)})
		i = p.ws(i)
		if i >= len(p.in) {
			return i, errEnd
		}
		if p.in[i] == '}' {
			i++
			break
		}
		if p.in[i] != ',' {
			return i, p.syntax(i)
		}
		p.out = append(p.out, ',')
		i = p.ws(i + 1)
	}
	p.out = append(p.out, '}')
	if sorted {
		return i, nil
	}
	// jsonb orders keys shorter first, then bytewise; the stable sort keeps
	// duplicates in input order so that the last one wins.
	slices.SortStableFunc(members, func(a, b member) int { return compareKeys(a.key, b.key) })
	kept := members[:0]
	for n, m := range members {
		if n+1 < len(members) && bytes.Equal(members[n+1].key, m.key) {
			continue
		}
		kept = append(kept, m)
	}
	p.fix = append(p.fix, fixup{start: objStart, end: len(p.out), members: kept})
	return i, nil
}

// compareKeys orders object keys as jsonb does: shorter first, then
// bytewise.
func compareKeys(a, b []byte) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return bytes.Compare(a, b)
}

// reordered returns out with the members of every fixup object in their
// order: one copy of out, whatever the nesting.
func (p *jsonParser) reordered() []byte {
	if len(p.fix) == 0 {
		return p.out
	}
	// Objects were recorded as they closed, inner first; order them by
	// start to find those within a range.
	slices.SortFunc(p.fix, func(a, b fixup) int { return a.start - b.start })
	dst := make([]byte, 0, len(p.out))
	return p.emit(dst, 0, len(p.out))
}

// emit appends out[start:end] to dst, writing the fixup objects in it in
// their order.
func (p *jsonParser) emit(dst []byte, start, end int) []byte {
	pos := start
	for {
		k, _ := slices.BinarySearchFunc(p.fix, pos, func(f fixup, pos int) int { return f.start - pos })
		if k == len(p.fix) || p.fix[k].start >= end {
			return append(dst, p.out[pos:end]...)
		}
		f := p.fix[k]
		dst = append(dst, p.out[pos:f.start]...)
		dst = append(dst, '{')
		for n, m := range f.members {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = p.emit(dst, m.start, m.end)
		}
		dst = append(dst, '}')
		pos = f.end
	}
}

func (p *jsonParser) array(i, depth int) (int, error) {
	p.out = append(p.out, '[')
	i = p.ws(i + 1)
	if i < len(p.in) && p.in[i] == ']' {
		p.out = append(p.out, ']')
		return i + 1, nil
	}
	for {
		var err error
		if i, err = p.value(i, depth); err != nil {
			return i, err
		}
		i = p.ws(i)
		if i >= len(p.in) {
			return i, errEnd
		}
		if p.in[i] == ']' {
			p.out = append(p.out, ']')
			return i + 1, nil
		}
		if p.in[i] != ',' {
			return i, p.syntax(i)
		}
		p.out = append(p.out, ',')
		i = p.ws(i + 1)
	}
}

// str reads the string at in[i] (a '"') and returns its decoded bytes, which
// alias the input when it has no escape.
func (p *jsonParser) str(i int) ([]byte, int, error) {
	start := i + 1
	j := start
	for j < len(p.in) {
		c := p.in[j]
		if c == '"' {
			return p.in[start:j], j + 1, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, j, fmt.Errorf("control character in string at offset %d", j)
		}
		j++
	}
	if j >= len(p.in) {
		return nil, j, errEnd
	}
	buf := append([]byte(nil), p.in[start:j]...)
	for j < len(p.in) {
		c := p.in[j]
		switch {
		case c == '"':
			return buf, j + 1, nil
		case c < 0x20:
			return nil, j, fmt.Errorf("control character in string at offset %d", j)
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(p.in) {
			return nil, j, errEnd
		}
		switch e := p.in[j+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(p.in, j+2)
			if !ok {
				return nil, j, fmt.Errorf("invalid \\u escape at offset %d", j)
			}
			j += 6
			switch {
			case r == 0:
				return nil, j, errors.New(`contains \u0000`)
			case utf16.IsSurrogate(r):
				lo, ok := rune(0), false
				if r < 0xdc00 && j+1 < len(p.in) && p.in[j] == '\\' && p.in[j+1] == 'u' {
					lo, ok = hex4(p.in, j+2)
				}
				if !ok || lo < 0xdc00 || lo > 0xdfff {
					return nil, j, fmt.Errorf("lone surrogate \\u%04x at offset %d", r, j-6)
				}
				r = utf16.DecodeRune(r, lo)
				j += 6
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			return nil, j, fmt.Errorf("invalid escape at offset %d", j)
		}
		j += 2
	}
	return nil, j, errEnd
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// appendString appends s quoted as jsonb writes it: escapes for ", \ and
// control characters only.
func appendString(out, s []byte) []byte {
	out = append(out, '"')
	out = appendStringBody(out, s)
	return append(out, '"')
}

// appendStringBody appends s as appendString does, without the quotes.
func appendStringBody(out, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '"':
			out = append(out, '\\', '"')
		case '\\':
			out = append(out, '\\', '\\')
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			if c < 0x20 {
				out = fmt.Appendf(out, `\u%04x`, c)
			} else {
				out = append(out, c)
			}
		}
	}
	return out
}

// maxExponent is the largest exponent PostgreSQL's numeric accepts.
const maxExponent = 1000

// number checks the JSON number at in[i] and appends it as PostgreSQL's
// numeric prints it: plain notation, scale = digits after the point minus
// the exponent (at least 0), no sign on zero.
func (p *jsonParser) number(i int) (int, error) {
	in := p.in
	j := i
	neg := in[j] == '-'
	if neg {
		j++
	}
	intStart := j
	switch {
	case j < len(in) && in[j] == '0':
		j++
	case j < len(in) && in[j] >= '1' && in[j] <= '9':
		for j < len(in) && in[j] >= '0' && in[j] <= '9' {
			j++
		}
	default:
		return j, p.syntax(j)
	}
	intPart := in[intStart:j]
	var frac []byte
	if j < len(in) && in[j] == '.' {
		j++
		fs := j
		for j < len(in) && in[j] >= '0' && in[j] <= '9' {
			j++
		}
		if j == fs {
			return j, p.syntax(j)
		}
		frac = in[fs:j]
	}
	exp, hasExp := 0, false
	if j < len(in) && (in[j] == 'e' || in[j] == 'E') {
		hasExp = true
		j++
		sign := 1
		if j < len(in) && (in[j] == '+' || in[j] == '-') {
			if in[j] == '-' {
				sign = -1
			}
			j++
		}
		es := j
		for j < len(in) && in[j] >= '0' && in[j] <= '9' {
			if exp <= maxExponent {
				exp = exp*10 + int(in[j]-'0')
			}
			j++
		}
		if j == es {
			return j, p.syntax(j)
		}
		if exp > maxExponent {
			return j, fmt.Errorf("number %s: exponent beyond ±%d", in[i:j], maxExponent)
		}
		exp *= sign
	}
	isZero := bytes.Trim(intPart, "0") == nil && bytes.Trim(frac, "0") == nil
	if !hasExp {
		// JSON's grammar has no leading zeros: the text is numeric's but
		// for the sign of zero.
		if neg && isZero {
			p.out = append(p.out, in[i+1:j]...)
		} else {
			p.out = append(p.out, in[i:j]...)
		}
		return j, nil
	}
	digits := append(append([]byte(nil), intPart...), frac...)
	scale := len(frac) - exp // value = digits × 10^-scale
	if scale < 0 {
		digits = append(digits, bytes.Repeat([]byte{'0'}, -scale)...)
		scale = 0
	}
	if len(digits) <= scale {
		digits = append(bytes.Repeat([]byte{'0'}, scale-len(digits)+1), digits...)
	}
	whole := bytes.TrimLeft(digits[:len(digits)-scale], "0")
	if neg && !isZero {
		p.out = append(p.out, '-')
	}
	if len(whole) == 0 {
		p.out = append(p.out, '0')
	}
	p.out = append(p.out, whole...)
	if scale > 0 {
		p.out = append(p.out, '.')
		p.out = append(p.out, digits[len(digits)-scale:]...)
	}
	return j, nil
}

// topLevelString returns the string value of key in the JSON object b (the
// last one when the key is repeated, as jsonb keeps it), matching the key
// exactly, or "" when b is not an object or the value is not a string.
func topLevelString(b []byte, key string) string {
	p := jsonParser{in: b, max: -1}
	i := p.ws(0)
	if i >= len(b) || b[i] != '{' {
		return ""
	}
	i = p.ws(i + 1)
	found := ""
	for i < len(b) && b[i] == '"' {
		k, next, err := p.str(i)
		if err != nil {
			return found
		}
		i = p.ws(next)
		if i >= len(b) || b[i] != ':' {
			return found
		}
		i = p.ws(i + 1)
		if string(k) == key && i < len(b) && b[i] == '"' {
			v, next, err := p.str(i)
			if err != nil {
				return found
			}
			found, i = string(v), next
		} else {
			if string(k) == key {
				found = "" // the last of a key counts, as in canonical form
			}
			p.out, p.fix = p.out[:0], p.fix[:0]
			if i, err = p.value(i, 0); err != nil {
				return found
			}
		}
		i = p.ws(i)
		if i >= len(b) || b[i] != ',' {
			break
		}
		i = p.ws(i + 1)
	}
	return found
}
