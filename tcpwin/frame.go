package tcpwin

import "encoding/binary"

// hostBigEndian reports the byte order of this machine (NFLOG frames
// captured live carry host-order TLVs).
var hostBigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// DecodeFrame decodes one link-layer frame, as captured on this machine,
// into seg, for sources outside this package (live capture). It sets the
// header fields and leaves Frame and Time alone. seg.Options aliases data.
// It returns false with no error for frames that are not TCP over IP, an
// error wrapping ErrBadFrame for malformed headers, and one wrapping
// ErrLinkType when link is not supported. wireLen is the frame's length on
// the wire (at least len(data); larger when the capture was truncated).
func DecodeFrame(seg *Segment, link LinkType, data []byte, wireLen int) (bool, error) {
	d := frameDecoder{hostBE: hostBigEndian}
	if wireLen < len(data) {
		wireLen = len(data)
	}
	return d.decode(seg, link, data, wireLen)
}
