package sysctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// SyntaxError is a malformed line of a sysctl.conf file.
type SyntaxError struct {
	File string
	Line int
	Text string
	Msg  string
	Err  error // the cause, e.g. a key error wrapping ErrBadKey
}

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %q", e.File, e.Line, e.Msg, e.Text)
}

// maxLine bounds a configuration line.
const maxLine = 1 << 20

// ParseConf parses sysctl.conf syntax as procps sysctl -p and
// systemd-sysctl read it:
//
//	# comment            ; comment
//	key = value          value may contain blanks; no trailing comments
//	-key = value         ignore errors for this key (missing key, EPERM ...)
//	key.with.*.glob = v  every matching key (explicit keys take precedence)
//	-key.pattern         without "=": exclude matching keys from globs
//
// Leading and trailing blanks around keys and values are removed. Lines that
// are malformed are reported as *SyntaxError (joined) after the valid lines
// have been collected, so callers can go on like procps ("continuing...")
// or stop. name is used in Setting.Source and in errors.
func ParseConf(r io.Reader, name string) ([]Setting, error) {
	var out []Setting
	var errs []error
	br := bufio.NewReaderSize(r, 64*1024)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if err == io.EOF && line == "" {
			break
		}
		if err != nil && err != io.EOF {
			errs = append(errs, &SyntaxError{File: name, Line: n, Msg: err.Error()})
			break
		}
		s, serr := parseLine(line, name, n)
		if serr != nil {
			errs = append(errs, serr)
		} else if s != nil {
			out = append(out, *s)
		}
		if err == io.EOF {
			break
		}
	}
	return out, errors.Join(errs...)
}

func readLine(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		frag, err := br.ReadSlice('\n')
		if b.Len()+len(frag) > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		b.Write(frag)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return b.String(), err
		}
		return b.String(), nil
	}
}

const blanks = " \t\n\r\v\f"

// ParseLine parses one line; it returns nil, nil for blank lines and
// comments.
func ParseLine(line, file string, n int) (*Setting, error) { return parseLine(line, file, n) }

func parseLine(line, file string, n int) (*Setting, error) {
	text := strings.TrimLeft(line, blanks)
	if len(text) < 2 { // procps: shorter lines are ignored
		return nil, nil
	}
	if text[0] == '#' || text[0] == ';' {
		return nil, nil
	}
	src := fmt.Sprintf("%s:%d", file, n)
	bad := func(msg string) error {
		return &SyntaxError{File: file, Line: n, Text: strings.TrimRight(line, "\r\n"), Msg: msg}
	}
	key, value, hasValue := strings.Cut(text, "=")
	s := &Setting{Source: src}
	if !hasValue {
		if text[0] != '-' {
			return nil, bad("invalid syntax (no \"=\")")
		}
		s.Exclude = true
		s.Key = strings.TrimRight(text[1:], blanks)
	} else {
		if strings.HasPrefix(key, "-") {
			s.IgnoreErrors = true
			key = key[1:]
		}
		s.Key = strings.TrimRight(key, blanks)
		s.Value = strings.Trim(value, blanks)
	}
	if s.Key == "" {
		return nil, bad("empty key")
	}
	if _, err := ParsePattern(s.Key); err != nil {
		e := bad(err.Error()).(*SyntaxError)
		e.Err = err
		return nil, e
	}
	return s, nil
}

// ParseConfFile parses the named file (see ParseConf).
func ParseConfFile(path string) ([]Setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConf(f, path)
}
