package main

import (
	"bufio"
	"io"
	"strconv"
)

// cell is one output value: a number, a string, or empty (null in JSON).
type cell struct {
	s     string
	n     int64
	f     float64
	kind  uint8
	empty bool
}

const (
	kindInt = iota
	kindStr
	kindFloat
)

func num[T ~int | ~int64 | ~uint64 | ~uint32 | ~uint16 | ~uint8](v T) cell {
	return cell{n: int64(v), kind: kindInt}
}
func str(s string) cell  { return cell{s: s, kind: kindStr} }
func flt(f float64) cell { return cell{f: f, kind: kindFloat} }
func none() cell         { return cell{empty: true} }
func bit(b bool) cell {
	if b {
		return num(1)
	}
	return num(0)
}

// table writes rows as TSV with a header line or as a JSON array.
type table struct {
	w    *bufio.Writer
	cols []string
	json bool
	rows int
	buf  []byte
}

func newTable(w io.Writer, format string, cols ...string) *table {
	t := &table{w: bufio.NewWriterSize(w, 64<<10), cols: cols, json: format == "json"}
	if t.json {
		t.w.WriteString("[")
	} else {
		for i, c := range cols {
			if i > 0 {
				t.w.WriteByte('\t')
			}
			t.w.WriteString(c)
		}
		t.w.WriteByte('\n')
	}
	return t
}

func (t *table) row(cells ...cell) {
	b := t.buf[:0]
	if t.json {
		if t.rows > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n{"...)
		for i, c := range cells {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, t.cols[i])
			b = append(b, ':')
			switch {
			case c.empty:
				b = append(b, "null"...)
			case c.kind == kindStr:
				b = strconv.AppendQuote(b, c.s)
			default:
				b = c.appendNum(b)
			}
		}
		b = append(b, '}')
	} else {
		for i, c := range cells {
			if i > 0 {
				b = append(b, '\t')
			}
			switch {
			case c.empty:
			case c.kind == kindStr:
				b = append(b, c.s...)
			default:
				b = c.appendNum(b)
			}
		}
		b = append(b, '\n')
	}
	t.rows++
	t.buf = b
	t.w.Write(b)
}

func (c cell) appendNum(b []byte) []byte {
	if c.kind == kindFloat {
		return strconv.AppendFloat(b, c.f, 'f', 1, 64)
	}
	return strconv.AppendInt(b, c.n, 10)
}

// close ends the output (the JSON array) and flushes it.
func (t *table) close() error {
	if t.json {
		if t.rows > 0 {
			t.w.WriteString("\n")
		}
		t.w.WriteString("]\n")
	}
	return t.w.Flush()
}
