package domain

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// maxNumberShrink bounds how much shorter than its text a valid number's
// canonical form can be: an exponent of at most maxExponent moves the point
// over as many zeros, which canonical form then drops, and the exponent's
// text goes too.
const maxNumberShrink = maxExponent + 10

// ReadData reads a message's data from r, to its end, for a message that
// will be prepared with these limits. It keeps memory within the size
// limit however long the input: white space between tokens is dropped (it
// does not count), strings and numbers are kept in canonical form, and it
// stops with a *MessageTooLargeError as soon as what it has read is larger
// than MessageSizeLimit in canonical form, the size Prepare counts. It
// checks nothing else: what it returns still goes through Prepare, which
// refuses what is not valid JSON (kept as it came) and counts the metadata
// too. Empty or white-space-only input gives empty data, which Prepare
// would store as {}; a caller for whom that is a mistake checks for it.
func (l Limits) ReadData(r io.Reader) (json.RawMessage, error) {
	rd := dataReader{in: bufio.NewReaderSize(r, 64<<10), max: l.MessageSizeLimit()}
	if err := rd.read(); err != nil {
		return nil, err
	}
	return rd.out, nil
}

// dataReader copies JSON text in canonical form as it reads it.
type dataReader struct {
	in  *bufio.Reader
	out []byte
	max int64 // negative: no limit
	num []byte
}

// tooLarge reports whether out has grown beyond the limit.
func (d *dataReader) tooLarge(extra int) error {
	if d.max >= 0 && int64(len(d.out)+extra) > d.max {
		return &MessageTooLargeError{Size: int64(len(d.out) + extra), Limit: d.max}
	}
	return nil
}

func (d *dataReader) read() error {
	space := false // white space dropped since the last byte written
	for {
		c, err := d.in.ReadByte()
		if err != nil {
			return d.eof(err)
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			space = true
			continue
		}
		// White space between two tokens that no punctuation separates
		// ("1 2", "- 1") keeps them apart, so that invalid input stays
		// invalid; valid JSON never has any.
		if space && len(d.out) > 0 && !punctuation(d.out[len(d.out)-1]) && !punctuation(c) {
			d.out = append(d.out, ' ')
		}
		space = false
		switch {
		case c == '"':
			d.out = append(d.out, c)
			if err := d.str(); err != nil {
				return err
			}
		case c == '-' || c >= '0' && c <= '9':
			if err := d.number(c); err != nil {
				return err
			}
		default:
			d.out = append(d.out, c)
		}
		if err := d.tooLarge(0); err != nil {
			return err
		}
	}
}

// punctuation reports the bytes that end a token by themselves.
func punctuation(c byte) bool {
	switch c {
	case '{', '}', '[', ']', ',', ':', '"':
		return true
	}
	return false
}

// eof turns the end of the input into success and anything else into an
// error.
func (d *dataReader) eof(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("%sread data: %w", errorPrefix, err)
}

// str copies a string after its opening quote, up to and including its
// closing quote, writing escapes as jsonb does. What is not valid (control
// characters, bad escapes, lone surrogates) is copied as it is, for Prepare
// to refuse.
func (d *dataReader) str() error {
	for {
		c, err := d.in.ReadByte()
		if err != nil {
			return d.eof(err)
		}
		switch c {
		case '"':
			d.out = append(d.out, c)
			return nil
		case '\\':
			if err := d.escape(); err != nil {
				return err
			}
		default:
			d.out = append(d.out, c)
		}
		if err := d.tooLarge(0); err != nil {
			return err
		}
	}
}

// escape copies an escape sequence after its backslash.
func (d *dataReader) escape() error {
	e, err := d.in.ReadByte()
	if err != nil {
		d.out = append(d.out, '\\')
		return d.eof(err)
	}
	switch e {
	case '/':
		d.out = append(d.out, '/')
		return nil
	case 'u':
	default:
		d.out = append(d.out, '\\', e)
		return nil
	}
	r, raw, ok := d.hex4()
	if !ok {
		d.out = append(append(d.out, '\\', 'u'), raw...)
		return nil
	}
	if utf16.IsSurrogate(r) {
		// A valid pair is two escapes in a row: a high then a low half.
		next, _ := d.in.Peek(2)
		if r >= 0xdc00 || len(next) < 2 || next[0] != '\\' || next[1] != 'u' {
			d.out = append(append(d.out, '\\', 'u'), raw...)
			return nil
		}
		_, _ = d.in.Discard(2)
		lo, raw2, ok := d.hex4()
		if !ok || lo < 0xdc00 || lo > 0xdfff {
			d.out = append(append(append(append(d.out, '\\', 'u'), raw...), '\\', 'u'), raw2...)
			return nil
		}
		r = utf16.DecodeRune(r, lo)
	}
	if r < utf8.RuneSelf {
		d.out = appendStringBody(d.out, []byte{byte(r)}) // as jsonb escapes it, if at all
	} else {
		d.out = utf8.AppendRune(d.out, r)
	}
	return nil
}

// hex4 reads the four hex digits of a \u escape: the code unit, the bytes
// read, and whether they were four hex digits.
func (d *dataReader) hex4() (rune, []byte, bool) {
	var raw []byte
	for range 4 {
		c, err := d.in.ReadByte()
		if err != nil {
			return 0, raw, false
		}
		raw = append(raw, c)
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return 0, raw, false
		}
	}
	r, _ := hex4(raw, 0)
	return r, raw, true
}

// number copies a number starting with c in canonical form, or as it is
// when it is not a valid JSON number.
func (d *dataReader) number(c byte) error {
	d.num = append(d.num[:0], c)
	for {
		b, err := d.in.ReadByte()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return d.eof(err)
			}
			break
		}
		if !(b >= '0' && b <= '9' || b == '.' || b == 'e' || b == 'E' || b == '+' || b == '-') {
			_ = d.in.UnreadByte()
			break
		}
		d.num = append(d.num, b)
		// Its canonical form is at most maxNumberShrink shorter than its
		// text (when it is valid at all).
		if err := d.tooLarge(len(d.num) - maxNumberShrink); err != nil {
			return err
		}
	}
	p := jsonParser{in: d.num, max: -1}
	if end, err := p.number(0); err == nil && end == len(d.num) {
		d.out = append(d.out, p.out...)
	} else {
		d.out = append(d.out, d.num...)
	}
	return nil
}
