package tcpwin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds for hostile text: line length, packets per line, and how far
// back from "port > port:" the addresses are searched.
const (
	maxTextLine    = 1 << 20
	maxLineAnchors = 4096
	hostPairWindow = 1024
)

// Placeholder endpoints for tcpdump text that shows no addresses (such as
// the 2006 paste "S 0:0 win 5840 <mss 1460,...> (DF) > . ack 1 win 92"):
// RFC 5737 documentation addresses, A for the side that sent the first
// SYN, B for its peer.
var (
	TextPeerA = netip.AddrFrom4([4]byte{192, 0, 2, 1})
	TextPeerB = netip.AddrFrom4([4]byte{192, 0, 2, 2})
)

// textPacket is one parsed packet; opts backs seg.Options.
type textPacket struct {
	seg  Segment
	opts [64]byte
	err  error
}

// textReader parses the text tcpdump prints, old (3.x, "S 1:1(0) win 5840
// <mss 1460>") and modern (4.x, "Flags [S], seq 1, win 64240, options
// [mss 1460]"), with or without -v, one or several packets per line.
type textReader struct {
	name  string
	sc    *bufio.Scanner
	line  int
	frame int
	// frameUsed: the current frame (opened by a timestamped line) already
	// produced a packet, so a further packet on a continuation line is a new
	// frame.
	frameUsed bool
	frameTime time.Time
	queue     []textPacket
	qi        int
	cur       textPacket
	err       error
	// seen reports that some line held a packet (good or bad): text
	// without any is not tcpdump output, and saying so beats an empty
	// result.
	seen bool

	// Relative sequence numbers (tcpdump without -S) made absolute.
	rel relSeq

	// Address-less direction inference.
	dir      dirState
	synth    map[string]netip.Addr
	synthNxt uint32
}

func newTextReader(br *bufio.Reader, name string) (FileSource, error) {
	head, _ := br.Peek(4096)
	if err := checkText(head); err != nil {
		return nil, &InputError{Name: name, Offset: 0, Err: err}
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 64*1024), maxTextLine)
	return &textReader{name: name, sc: sc}, nil
}

// checkText rejects binary input: NUL or control bytes or invalid UTF-8 in
// the first bytes.
func checkText(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
				return fmt.Errorf("%w: binary data (byte %#02x at offset %d), not pcap, pcapng or tcpdump text", ErrFormat, c, i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			if !utf8.FullRune(b[i:]) && len(b)-i < utf8.UTFMax {
				break // cut at the end of the peeked chunk
			}
			return fmt.Errorf("%w: binary data (invalid UTF-8 at offset %d), not pcap, pcapng or tcpdump text", ErrFormat, i)
		}
		i += n
	}
	return nil
}

func (t *textReader) Format() string { return "text" }
func (t *textReader) Close() error   { return nil }

// Next returns the next TCP segment.
func (t *textReader) Next() (*Segment, error) {
	for {
		if t.qi < len(t.queue) {
			t.cur = t.queue[t.qi]
			t.qi++
			if t.cur.err != nil {
				return nil, t.cur.err
			}
			t.cur.seg.Options = t.cur.opts[:len(t.cur.seg.Options)]
			return &t.cur.seg, nil
		}
		if t.err != nil {
			return nil, t.err
		}
		t.queue, t.qi = t.queue[:0], 0
		if !t.sc.Scan() {
			if err := t.sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					err = fmt.Errorf("%w: line longer than %d bytes", ErrFormat, maxTextLine)
				}
				t.err = &InputError{Name: t.name, Line: t.line + 1, Err: err}
			} else if !t.seen {
				t.err = &InputError{Name: t.name, Line: t.line, Err: fmt.Errorf("%w: no TCP packet line in %d lines of text (not pcap, pcapng or tcpdump text with TCP)", ErrFormat, t.line)}
			} else {
				t.err = io.EOF
			}
			continue
		}
		t.line++
		t.parseLine(t.sc.Text())
		t.seen = t.seen || len(t.queue) > 0
	}
}

// parseLine queues the packets found on one line.
func (t *textReader) parseLine(line string) {
	// Continuation lines (-v second line, hex dumps, payload) start with a
	// tab or several spaces; -ttt's delta timestamps start with one space.
	indented := strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "  ")
	line = strings.TrimLeft(line, " ")
	line = strings.TrimRight(line, "\r")
	if !indented {
		ts, rest, ok := parseTimestamp(line)
		if ok || startsPacket(rest) {
			t.frame++
			t.frameUsed = false
			t.frameTime = ts
		}
	}
	anchors := findAnchors(line)
	if len(anchors) > maxLineAnchors {
		t.frame++
		t.queue = append(t.queue, textPacket{err: &InputError{Name: t.name, Line: t.line, Frame: t.frame,
			Err: fmt.Errorf("%w: more than %d packets on one line", ErrBadFrame, maxLineAnchors)}})
		return
	}
	for _, a := range anchors {
		var p textPacket
		if t.frame == 0 || t.frameUsed {
			t.frame++
			t.frameTime = time.Time{}
		}
		t.frameUsed = true
		p.seg.Frame = t.frame
		p.seg.Time = t.frameTime
		if err := t.parsePacket(&p, line, a); err != nil {
			p.err = &InputError{Name: t.name, Line: t.line, Frame: t.frame,
				Err: fmt.Errorf("%w: %v", ErrBadFrame, err)}
		}
		t.queue = append(t.queue, p)
	}
}

// startsPacket reports whether an untimestamped line looks like the start
// of a packet (tcpdump -t): "IP ...", "ARP, ...", "eth0  Out IP ...", or
// anything with "a > b", which also covers link-layer headers (-e).
func startsPacket(s string) bool {
	return strings.HasPrefix(s, "IP ") || strings.HasPrefix(s, "IP6 ") || strings.HasPrefix(s, "ARP") ||
		strings.Contains(s, " > ")
}

// parseTimestamp parses tcpdump's leading timestamp: "15:04:05.000000"
// (default, taken as 1970-01-01 UTC), "2006-01-02 15:04:05.000000"
// (-tttt) or "1136214245.000000" (-tt).
func parseTimestamp(line string) (time.Time, string, bool) {
	word, rest, _ := strings.Cut(line, " ")
	if len(word) >= 10 && word[4] == '-' && word[7] == '-' {
		w2, rest2, _ := strings.Cut(rest, " ")
		if ts, err := time.Parse("2006-01-02 15:04:05.999999999", word+" "+w2); err == nil {
			return ts, rest2, true
		}
	}
	if len(word) >= 8 && word[2] == ':' && word[5] == ':' {
		if ts, err := time.Parse("15:04:05.999999999", word); err == nil {
			return time.Date(1970, 1, 1, ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), time.UTC), rest, true
		}
	}
	if sec, frac, ok := strings.Cut(word, "."); ok && len(sec) >= 9 && allDigits(sec) && allDigits(frac) && len(frac) <= 9 {
		s, _ := parseUint(sec, 1<<40)
		f, _ := parseUint(frac+strings.Repeat("0", 9-len(frac)), 1e9)
		return time.Unix(int64(s), int64(f)).UTC(), rest, true
	}
	return time.Time{}, line, false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseUint parses a decimal number no larger than max.
func parseUint(s string, max uint64) (uint64, bool) {
	if !allDigits(s) || len(s) > 20 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// anchor is where a TCP header's text starts on a line.
type anchor struct {
	pos    int  // offset of "Flags [" or of the old-style flags word
	modern bool // tcpdump 4.x form
	end    int  // where the next anchor starts (or len(line))
}

// findAnchors finds the TCP headers on a line. Modern ones are "Flags ["
// right after "src > dst: "; old ones are a flags word (S, F, R, P, W, E,
// or "." for none) followed by a sequence range, "ack" or "win".
func findAnchors(line string) []anchor {
	var as []anchor
	for i := 0; ; {
		j := strings.Index(line[i:], "Flags [")
		if j < 0 {
			break
		}
		j += i
		if _, _, ok := addrPairBefore(line, j); ok {
			as = append(as, anchor{pos: j, modern: true})
			if len(as) > maxLineAnchors {
				return as
			}
		}
		i = j + 1
	}
	if len(as) == 0 {
		// Old form: scan words.
		for i := 0; i < len(line); {
			for i < len(line) && line[i] == ' ' {
				i++
			}
			w := i
			for i < len(line) && line[i] != ' ' {
				i++
			}
			if w < i && isOldFlags(line[w:i]) && oldFollows(line[i:]) {
				as = append(as, anchor{pos: w})
				if len(as) > maxLineAnchors {
					return as
				}
			}
		}
	}
	for k := range as {
		if k+1 < len(as) {
			as[k].end = as[k+1].pos
		} else {
			as[k].end = len(line)
		}
	}
	return as
}

func isOldFlags(w string) bool {
	if w == "." {
		return true
	}
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case 'S', 'F', 'R', 'P', 'W', 'E', 'U':
		default:
			return false
		}
	}
	return w != ""
}

// oldFollows reports whether the text after an old flags word continues as
// a TCP header: optional "[...]" groups, then "a:b", "ack" or "win".
func oldFollows(s string) bool {
	s = skipBrackets(strings.TrimLeft(s, " "))
	w, _, _ := strings.Cut(s, " ")
	if w == "ack" || w == "win" || strings.HasPrefix(w, "win") && allDigits(strings.TrimPrefix(w, "win")) {
		return true
	}
	a, b, ok := strings.Cut(w, ":")
	if !ok {
		return false
	}
	if k := strings.IndexByte(b, '('); k >= 0 {
		b = b[:k]
	}
	return allDigits(a) && allDigits(b)
}

// skipBrackets drops leading "[...]" groups such as "[tcp sum ok]".
func skipBrackets(s string) string {
	for strings.HasPrefix(s, "[") {
		k := strings.IndexByte(s, ']')
		if k < 0 {
			return s
		}
		s = strings.TrimLeft(s[k+1:], " ")
	}
	return s
}

// addrPairBefore finds "src > dst: " ending at pos.
func addrPairBefore(line string, pos int) (src, dst string, ok bool) {
	before := strings.TrimRight(line[:pos], " ")
	if !strings.HasSuffix(before, ":") {
		return "", "", false
	}
	before = before[:len(before)-1]
	k := strings.LastIndexByte(before, ' ')
	if k < 0 {
		return "", "", false
	}
	dst = before[k+1:]
	before = strings.TrimRight(before[:k], " ")
	if !strings.HasSuffix(before, " >") && before != ">" {
		return "", "", false
	}
	before = strings.TrimRight(before[:len(before)-1], " ")
	src = before[strings.LastIndexByte(before, ' ')+1:]
	if src == "" || dst == "" {
		return "", "", false
	}
	return src, dst, true
}

// parsePacket fills p from the text of one TCP header.
func (t *textReader) parsePacket(p *textPacket, line string, a anchor) error {
	body := line[a.pos:a.end]
	src, dst, haveAddr := addrPairBefore(line, a.pos)
	if haveAddr && allDigits(src) && allDigits(dst) {
		// IPv6 with extension headers: "a > b: HBH DSTOPT 40002 > 22: Flags".
		sp, _ := parseUint(src, 65535)
		dp, _ := parseUint(dst, 65535)
		sa, da, ok := hostPairBefore(line, a.pos)
		if !ok {
			return fmt.Errorf("no addresses before ports %s > %s", src, dst)
		}
		p.seg.Src, p.seg.Dst = sa, da
		p.seg.SrcPort, p.seg.DstPort = uint16(sp), uint16(dp)
	} else if haveAddr {
		if err := t.endpoint(src, &p.seg.Src, &p.seg.SrcPort); err != nil {
			return err
		}
		if err := t.endpoint(dst, &p.seg.Dst, &p.seg.DstPort); err != nil {
			return err
		}
	}
	var seqEnd uint32
	var haveSeq, haveLen bool
	var err error
	if a.modern {
		haveSeq, haveLen, seqEnd, err = parseModern(p, body)
	} else {
		haveSeq, haveLen, seqEnd, err = parseOld(p, body)
	}
	if err != nil {
		return err
	}
	if !haveLen && haveSeq {
		p.seg.PayloadLen = int(seqEnd - p.seg.Seq)
	}
	if !haveAddr {
		t.dir.assign(&p.seg, haveSeq)
	} else {
		t.rel.fix(&p.seg, haveSeq)
	}
	return nil
}

// hostPairBefore finds the last "addr > addr:" (IP addresses without
// ports) before pos.
func hostPairBefore(line string, pos int) (src, dst netip.Addr, ok bool) {
	// The pair is close before the ports (only extension header names lie
	// between); bound the search so hostile lines stay linear.
	f := strings.Fields(line[max(0, pos-hostPairWindow):pos])
	for i := len(f) - 2; i >= 1; i-- {
		if f[i] != ">" || !strings.HasSuffix(f[i+1], ":") {
			continue
		}
		s, err1 := netip.ParseAddr(f[i-1])
		d, err2 := netip.ParseAddr(strings.TrimSuffix(f[i+1], ":"))
		if err1 == nil && err2 == nil {
			return s.Unmap(), d.Unmap(), true
		}
	}
	return netip.Addr{}, netip.Addr{}, false
}

// endpoint parses "addr.port" (IPv4, IPv6, or a host name when tcpdump
// ran without -n, mapped to a stable placeholder address).
func (t *textReader) endpoint(s string, addr *netip.Addr, port *uint16) error {
	k := strings.LastIndexByte(s, '.')
	if k < 0 {
		return fmt.Errorf("endpoint %q has no port", s)
	}
	host, ps := s[:k], s[k+1:]
	if n, ok := parseUint(ps, 65535); ok {
		*port = uint16(n)
	} else {
		*port = servicePorts[ps]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		if host == "" || strings.ContainsAny(host, " ,[]()") {
			return fmt.Errorf("bad endpoint %q", s)
		}
		if t.synth == nil {
			t.synth = make(map[string]netip.Addr)
		}
		a, ok := t.synth[host]
		if !ok {
			// RFC 2544 benchmarking range 198.18.0.0/15 for names.
			n := t.synthNxt % (1 << 17)
			t.synthNxt++
			a = netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)})
			if len(t.synth) < 1<<16 {
				t.synth[host] = a
			}
		}
		*addr = a
		return nil
	}
	*addr = a.Unmap()
	return nil
}

// servicePorts maps the service names tcpdump prints without -n.
var servicePorts = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53,
	"http": 80, "www": 80, "pop3": 110, "sunrpc": 111, "nntp": 119, "imap": 143,
	"bgp": 179, "ldap": 389, "https": 443, "microsoft-ds": 445, "submission": 587,
	"imaps": 993, "pop3s": 995, "mysql": 3306, "http-alt": 8080, "webcache": 8080,
}

// modernFlags maps tcpdump 4.x flag characters (print-tcp.c tcp_flag_values).
func modernFlags(s string) (Flags, error) {
	if s == "none" {
		return 0, nil
	}
	var f Flags
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'F':
			f |= FlagFIN
		case 'S':
			f |= FlagSYN
		case 'R':
			f |= FlagRST
		case 'P':
			f |= FlagPSH
		case '.':
			f |= FlagACK
		case 'U':
			f |= FlagURG
		case 'E':
			f |= FlagECE
		case 'W':
			f |= FlagCWR
		case 'e': // AE (accurate ECN), no bit in Flags
		default:
			return 0, fmt.Errorf("unknown TCP flag %q in Flags [%s]", s[i], s)
		}
	}
	return f, nil
}

// parseModern parses "Flags [S.], cksum ..., seq 1:2, ack 3, win 4, urg 0,
// options [...], length 5".
func parseModern(p *textPacket, body string) (haveSeq, haveLen bool, seqEnd uint32, err error) {
	s := strings.TrimPrefix(body, "Flags [")
	k := strings.IndexByte(s, ']')
	if k < 0 {
		return false, false, 0, errors.New("unterminated Flags [")
	}
	if p.seg.Flags, err = modernFlags(s[:k]); err != nil {
		return false, false, 0, err
	}
	s = s[k+1:]
	for {
		s = strings.TrimPrefix(s, ",")
		s = strings.TrimLeft(s, " ")
		key, rest, _ := strings.Cut(s, " ")
		switch key {
		case "cksum":
			if k := strings.Index(rest, ", "); k >= 0 {
				s = rest[k:]
				continue
			}
			return haveSeq, haveLen, seqEnd, nil
		case "seq", "ack", "win", "urg", "length":
			field, more, hasMore := strings.Cut(rest, ",")
			val, _, _ := strings.Cut(field, " ")
			val = strings.TrimSuffix(val, ":") // "length 379: HTTP"
			switch key {
			case "seq":
				a, b, isRange := strings.Cut(val, ":")
				n, ok := parseUint(a, 1<<32-1)
				if !ok {
					return false, false, 0, fmt.Errorf("bad seq %q", val)
				}
				p.seg.Seq, seqEnd, haveSeq = uint32(n), uint32(n), true
				if isRange {
					m, ok := parseUint(b, 1<<32-1)
					if !ok {
						return false, false, 0, fmt.Errorf("bad seq %q", val)
					}
					seqEnd = uint32(m)
				}
			default:
				max := uint64(1<<32 - 1)
				if key == "win" || key == "urg" {
					max = 65535
				}
				n, ok := parseUint(val, max)
				if !ok {
					return false, false, 0, fmt.Errorf("bad %s %q", key, val)
				}
				switch key {
				case "ack":
					p.seg.Ack = uint32(n)
				case "win":
					p.seg.Window = uint16(n)
				case "length":
					p.seg.PayloadLen, haveLen = int(n), true
					return haveSeq, haveLen, seqEnd, nil
				}
			}
			if !hasMore {
				return haveSeq, haveLen, seqEnd, nil
			}
			s = more
		case "options":
			if !strings.HasPrefix(rest, "[") {
				return false, false, 0, errors.New("options without [")
			}
			k := strings.IndexByte(rest, ']')
			if k < 0 {
				return false, false, 0, errors.New("unterminated options [")
			}
			if p.seg.Options, err = encodeOptions(p.opts[:0], rest[1:k]); err != nil {
				return false, false, 0, err
			}
			s = rest[k+1:]
		default:
			return haveSeq, haveLen, seqEnd, nil
		}
	}
}

// parseOld parses tcpdump 3.x: "S 1:1(0) ack 2 win 5840 <mss 1460> (DF)".
func parseOld(p *textPacket, body string) (haveSeq, haveLen bool, seqEnd uint32, err error) {
	fw, s, _ := strings.Cut(body, " ")
	for i := 0; i < len(fw); i++ {
		switch fw[i] {
		case 'S':
			p.seg.Flags |= FlagSYN
		case 'F':
			p.seg.Flags |= FlagFIN
		case 'R':
			p.seg.Flags |= FlagRST
		case 'P':
			p.seg.Flags |= FlagPSH
		case 'W':
			p.seg.Flags |= FlagCWR
		case 'E':
			p.seg.Flags |= FlagECE
		case 'U':
			p.seg.Flags |= FlagURG
		}
	}
	for {
		s = skipBrackets(strings.TrimLeft(s, " "))
		if s == "" {
			return
		}
		if s[0] == '<' {
			k := strings.IndexByte(s, '>')
			if k < 0 {
				return false, false, 0, errors.New("unterminated options <")
			}
			if p.seg.Options, err = encodeOptions(p.opts[:0], s[1:k]); err != nil {
				return false, false, 0, err
			}
			s = s[k+1:]
			continue
		}
		w, rest, _ := strings.Cut(s, " ")
		switch {
		case w == "ack" || w == "win" || w == "urg" || strings.HasPrefix(w, "win"):
			var v string
			if w == "ack" || w == "win" || w == "urg" {
				v, rest, _ = strings.Cut(rest, " ")
			} else {
				v, w = w[3:], "win"
			}
			if k := strings.IndexByte(v, '<'); k >= 0 { // "win 5840<mss 1460>"
				rest = v[k:] + " " + rest
				v = v[:k]
			}
			max := uint64(1<<32 - 1)
			if w != "ack" {
				max = 65535
			}
			n, ok := parseUint(v, max)
			if !ok {
				return false, false, 0, fmt.Errorf("bad %s %q", w, v)
			}
			switch w {
			case "ack":
				p.seg.Ack = uint32(n)
				p.seg.Flags |= FlagACK
			case "win":
				p.seg.Window = uint16(n)
			case "urg":
				p.seg.Flags |= FlagURG
			}
			s = rest
		case strings.Contains(w, ":") && !haveSeq:
			a, b, _ := strings.Cut(w, ":")
			var l string
			if k := strings.IndexByte(b, '('); k >= 0 {
				b, l = b[:k], strings.TrimSuffix(b[k+1:], ")")
			}
			x, ok1 := parseUint(a, 1<<32-1)
			y, ok2 := parseUint(b, 1<<32-1)
			if !ok1 || !ok2 {
				return false, false, 0, fmt.Errorf("bad sequence range %q", w)
			}
			p.seg.Seq, seqEnd, haveSeq = uint32(x), uint32(y), true
			if l != "" {
				n, ok := parseUint(l, 1<<31)
				if !ok {
					return false, false, 0, fmt.Errorf("bad length in %q", w)
				}
				p.seg.PayloadLen, haveLen = int(n), true
			}
			s = rest
		default:
			return // "(DF)", payload descriptions, the next packet's ">"
		}
	}
}

// TCP option kinds (IANA registry) used when re-encoding tcpdump's text.
const (
	optEOL       = 0
	optNOP       = 1
	optMSS       = 2  // RFC 9293
	optWScale    = 3  // RFC 7323
	optSACKPerm  = 4  // RFC 2018
	optSACK      = 5  // RFC 2018
	optTimestamp = 8  // RFC 7323
	optMD5       = 19 // RFC 2385
	optUTO       = 28 // RFC 5482
	optTFO       = 34 // RFC 7413
	optExp2      = 254
	maxOptLen    = 40 // data offset 15 words minus the fixed header
)

// encodeOptions turns tcpdump's option list ("mss 1460,sackOK,TS val 1 ecr
// 0,nop,wscale 7" or the old "timestamp 1 0") back into raw option bytes,
// so that one decoder handles captures and text. Items it cannot
// reconstruct (mptcp, tcpdump's "[bad opt]") are left out; a value tcpdump
// cannot have printed (mss 70000, wscale 300, a timestamp without its
// numbers) is an error, as a bad win is.
func encodeOptions(dst []byte, list string) ([]byte, error) {
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		var opt []byte
		num := func(i int, max uint64) (uint64, bool) {
			if i >= len(f) {
				return 0, false
			}
			return parseUint(f[i], max)
		}
		switch f[0] {
		case "nop":
			opt = []byte{optNOP}
		case "eol":
			opt = []byte{optEOL}
		case "mss":
			n, ok := num(1, 65535)
			if !ok {
				return dst, fmt.Errorf("bad option %q: mss is 0-65535", item)
			}
			opt = []byte{optMSS, 4, byte(n >> 8), byte(n)}
		case "wscale":
			n, ok := num(1, 255)
			if !ok {
				return dst, fmt.Errorf("bad option %q: wscale is 0-255 (a one-byte shift count)", item)
			}
			opt = []byte{optWScale, 3, byte(n)}
		case "sackOK":
			opt = []byte{optSACKPerm, 2}
		case "TS", "timestamp":
			vi, ei := 1, 2
			if f[0] == "TS" { // "TS val A ecr B"
				vi, ei = 2, 4
			}
			v, ok1 := num(vi, 1<<32-1)
			e, ok2 := num(ei, 1<<32-1)
			if !ok1 || !ok2 {
				return dst, fmt.Errorf("bad option %q: timestamps are two 32-bit numbers", item)
			}
			opt = []byte{optTimestamp, 10, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v),
				byte(e >> 24), byte(e >> 16), byte(e >> 8), byte(e)}
		case "sack":
			// "sack 2 {1:2}{3:4}"
			opt = []byte{optSACK, 2}
			rest := item[len("sack"):]
			if k := strings.IndexByte(rest, '{'); k >= 0 {
				rest = rest[k:]
			} else {
				rest = ""
			}
			for rest != "" && len(opt) < maxOptLen {
				k := strings.IndexByte(rest, '}')
				if rest[0] != '{' || k < 0 {
					break
				}
				a, b, _ := strings.Cut(rest[1:k], ":")
				x, ok1 := parseUint(a, 1<<32-1)
				y, ok2 := parseUint(b, 1<<32-1)
				if !ok1 || !ok2 {
					break
				}
				opt = append(opt, byte(x>>24), byte(x>>16), byte(x>>8), byte(x), byte(y>>24), byte(y>>16), byte(y>>8), byte(y))
				rest = strings.TrimLeft(rest[k+1:], " ")
			}
			opt[1] = byte(len(opt))
		case "md5", "md5:":
			opt = make([]byte, 18)
			opt[0], opt[1] = optMD5, 18
		case "uto":
			if len(f) > 1 {
				v := strings.TrimSuffix(f[1], "min")
				if n, ok := parseUint(v, 0x7fff); ok {
					g := byte(0)
					if strings.HasSuffix(f[1], "min") {
						g = 0x80
					}
					opt = []byte{optUTO, 4, g | byte(n>>8), byte(n)}
				}
			}
		case "tfo", "exp-tfo":
			opt = []byte{optTFO, 2}
			if f[0] == "exp-tfo" {
				opt = []byte{optExp2, 4, 0xf9, 0x89} // RFC 7413 section 4.1.1 experimental ID
			}
			if len(f) > 2 && f[1] == "cookie" {
				if b, ok := parseHex(f[2]); ok {
					opt = append(opt, b...)
				}
			}
			opt[1] = byte(len(opt))
		default:
			if kind, ok := strings.CutPrefix(f[0], "unknown-"); ok {
				if n, ok := parseUint(kind, 255); ok {
					opt = []byte{byte(n), 2}
					if len(f) > 1 {
						if b, ok := parseHex(strings.TrimPrefix(f[1], "0x")); ok {
							opt = append(opt, b...)
						}
					}
					opt[1] = byte(len(opt))
				}
			}
		}
		if opt != nil && len(dst)+len(opt) <= maxOptLen {
			dst = append(dst, opt...)
		}
	}
	return dst, nil
}

func parseHex(s string) ([]byte, bool) {
	if len(s)%2 != 0 || len(s) > 2*maxOptLen {
		return nil, false
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		b[i] = hi<<4 | lo
	}
	return b, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// dirState infers the direction of packets printed without addresses, as
// in the 2006 paste. The side that sends the first SYN is A (TextPeerA),
// its peer B. Later packets are matched by sequence numbers: a segment
// whose sequence number continues one side's stream, or whose ack matches
// what only one side has sent, belongs to that side. When both fit (pure
// ACKs right after the handshake), a data segment after a pure ACK keeps
// the sender, anything else alternates.
type dirState struct {
	seen        bool
	last        int // 0 = A, 1 = B
	lastPureAck bool
	nxtRel      [2]uint32 // next relative sequence number per side
	nxtAbs      [2]uint32
	haveAbs     [2]bool
}

func (d *dirState) assign(seg *Segment, haveSeq bool) {
	side := -1
	syn, ack := seg.Flags.Has(FlagSYN), seg.Flags.Has(FlagACK)
	switch {
	case syn && !ack:
		side = 0
	case syn && ack:
		side = 1
	default:
		fits := func(s int) bool {
			if haveSeq && (seg.Seq == d.nxtRel[s] || d.haveAbs[s] && seg.Seq == d.nxtAbs[s]) {
				return true
			}
			return false
		}
		acks := func(s int) bool { // seg acks what side s sent, so it came from the other side
			return ack && (seg.Ack == d.nxtRel[s] || d.haveAbs[s] && seg.Ack == d.nxtAbs[s])
		}
		a := fits(0) || acks(1)
		b := fits(1) || acks(0)
		switch {
		case a && !b:
			side = 0
		case b && !a:
			side = 1
		case !d.seen:
			side = 0
		case seg.PayloadLen > 0 && d.lastPureAck:
			side = d.last
		default:
			side = 1 - d.last
		}
	}
	if side == 0 {
		seg.Src, seg.Dst = TextPeerA, TextPeerB
	} else {
		seg.Src, seg.Dst = TextPeerB, TextPeerA
	}
	adv := uint32(seg.PayloadLen)
	if syn {
		adv++
		if haveSeq {
			d.nxtAbs[side], d.haveAbs[side] = seg.Seq+adv, true
		}
		d.nxtRel[side] = 1
	} else if haveSeq {
		if seg.Flags.Has(FlagFIN) {
			adv++
		}
		d.nxtRel[side] = seg.Seq + adv
		if d.haveAbs[side] && seg.Seq-d.nxtAbs[side] < 1<<30 {
			d.nxtAbs[side] = seg.Seq + adv
		}
	}
	d.seen = true
	d.last = side
	d.lastPureAck = !syn && seg.PayloadLen == 0
}
