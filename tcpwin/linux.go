package tcpwin

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// LinuxEra selects the kernel behaviour LinuxWScale models. The shift
// formula itself has been stable since well before 2.6.17
// (tcp_select_initial_window: the smallest shift that lets
// max(tcp_rmem[2], net.core.rmem_max), capped by the window clamp, fit in 16
// bits); what changed is how the window clamp and the usable part of a
// receive buffer are derived.
type LinuxEra uint8

const (
	// LinuxCurrent models current kernels (checked on 6.18): SO_RCVBUF set
	// before connect/listen locks the buffer and clamps the window to
	// tcp_full_space() = sk_rcvbuf * scaling_ratio / 256, with the default
	// scaling_ratio of 128 (50%). 3.4-6.4 (tcp_adv_win_scale=1) give the
	// same 50%.
	LinuxCurrent LinuxEra = iota
	// Linux2617 models the 2.6.17-2.6.2x kernels of the 2006 failure:
	// tcp_connect_init did not yet clamp the window to an SO_RCVBUF-locked
	// buffer, so SO_RCVBUF does not change the shift; only
	// max(tcp_rmem[2], net.core.rmem_max) and TCP_WINDOW_CLAMP do.
	Linux2617
)

func (e LinuxEra) String() string {
	switch e {
	case LinuxCurrent:
		return "current"
	case Linux2617:
		return "2.6.17"
	}
	return "LinuxEra(" + strconv.Itoa(int(e)) + ")"
}

// ParseLinuxEra accepts "current" (or "", "6", "6.x") and "2.6.17" (or "2.6").
func ParseLinuxEra(s string) (LinuxEra, error) {
	switch {
	case s == "" || s == "current" || strings.HasPrefix(s, "6") || strings.HasPrefix(s, "5") || strings.HasPrefix(s, "4") || strings.HasPrefix(s, "3."):
		return LinuxCurrent, nil
	case strings.HasPrefix(s, "2.6"):
		return Linux2617, nil
	}
	return 0, fmt.Errorf("tcpwin: unknown Linux era %q (want current or 2.6.17)", s)
}

// Kernel constants used by the model.
const (
	linuxMaxWScale = 14 // TCP_MAX_WSCALE
	// linuxMinRcvbuf is SOCK_MIN_RCVBUF on x86_64 (2 * (2048 +
	// SKB_DATA_ALIGN(sizeof(struct sk_buff)))); it only matters for tiny
	// SO_RCVBUF values, which give shift 0 anyway.
	linuxMinRcvbuf = 4608
	// linuxDefaultScalingRatio is TCP_DEFAULT_SCALING_RATIO (50% of 256).
	linuxDefaultScalingRatio = 128
)

// LinuxConfig is what decides the window-scale shift a Linux host offers in
// its SYN (connect) or SYN-ACK (listen). A nil *LinuxConfig means the
// defaults of a current kernel: tcp_rmem "4096 131072 6291456", rmem_max
// 212992, scaling on.
type LinuxConfig struct {
	// TCPRmem is net.ipv4.tcp_rmem (min, default, max); zero means the
	// current default.
	TCPRmem [3]int
	// RmemMax is net.core.rmem_max (0: 212992). It is global (read-only
	// inside a network namespace on this kernel) and can dominate
	// tcp_rmem[2]: the shift is sized for the larger of the two.
	RmemMax int
	// NoWindowScaling is net.ipv4.tcp_window_scaling=0: no option is sent.
	NoWindowScaling bool
	// RcvBuf is SO_RCVBUF set before connect/listen (0: not set). The kernel
	// caps it at RmemMax and doubles it.
	RcvBuf int
	// WindowClamp is TCP_WINDOW_CLAMP (or a route's "window" metric) set
	// before connect/listen (0: none).
	WindowClamp int
	// Era selects the kernel behaviour (default LinuxCurrent).
	Era LinuxEra
	// ScalingRatio overrides the kernel's initial skb len/truesize ratio in
	// 1/256 (0: the era's default; 65 models 6.5-6.1x kernels before
	// TCP_DEFAULT_SCALING_RATIO became 50%).
	ScalingRatio int
}

// Linux defaults of current kernels.
var (
	LinuxDefaultTCPRmem = [3]int{4096, 131072, 6291456}
	LinuxDefaultRmemMax = 212992
)

// LinuxPrediction is the outcome of PredictLinux, with the inputs that
// decided it.
type LinuxPrediction struct {
	WScale      int    `json:"wscale"`       // shift offered; 0 when Offered is false
	Offered     bool   `json:"offered"`      // a window-scale option is sent at all
	Space       int    `json:"space"`        // bytes the shift is sized for
	RcvBuf      int    `json:"rcvbuf"`       // effective sk_rcvbuf (after SO_RCVBUF doubling), 0 if autotuned
	WindowClamp int    `json:"window_clamp"` // clamp applied before sizing, 0 if none
	Limit       string `json:"limit"`        // which input decided Space
	MaxWindow   int64  `json:"max_window"`   // largest window expressible: 65535 << WScale
	Era         string `json:"era"`
}

// ErrLinuxConfig reports an impossible configuration.
var ErrLinuxConfig = errors.New("tcpwin: invalid Linux configuration")

// LinuxWScale returns the window-scale shift a Linux host with cfg offers
// in its SYN or SYN-ACK; ok is false when it sends no option
// (tcp_window_scaling=0). Invalid (negative) inputs also give ok=false.
func LinuxWScale(cfg LinuxConfig) (shift int, ok bool) {
	p, err := PredictLinux(&cfg)
	if err != nil || !p.Offered {
		return 0, false
	}
	return p.WScale, true
}

// PredictLinux models tcp_select_initial_window (net/ipv4/tcp_output.c)
// as called from tcp_connect_init (client SYN) and tcp_openreq_init_rwin
// (listener SYN-ACK), which compute the shift the same way.
func PredictLinux(cfg *LinuxConfig) (LinuxPrediction, error) {
	var c LinuxConfig
	if cfg != nil {
		c = *cfg
	}
	if c.TCPRmem == [3]int{} {
		c.TCPRmem = LinuxDefaultTCPRmem
	}
	if c.RmemMax == 0 {
		c.RmemMax = LinuxDefaultRmemMax
	}
	p := LinuxPrediction{Era: c.Era.String()}
	if c.TCPRmem[0] < 0 || c.TCPRmem[1] < 0 || c.TCPRmem[2] <= 0 || c.RmemMax < 0 || c.RcvBuf < 0 || c.WindowClamp < 0 || c.ScalingRatio < 0 || c.ScalingRatio > 256 {
		return p, fmt.Errorf("%w: negative or zero sizes in %+v", ErrLinuxConfig, c)
	}
	if c.Era > Linux2617 {
		return p, fmt.Errorf("%w: unknown era %d", ErrLinuxConfig, c.Era)
	}
	ratio := c.ScalingRatio
	if ratio == 0 {
		ratio = linuxDefaultScalingRatio
		if c.Era == Linux2617 {
			ratio = 192 // tcp_adv_win_scale=2: space - space/4
		}
	}
	// sk_rcvbuf: tcp_rmem[1] unless SO_RCVBUF locked it.
	rcvbuf := c.TCPRmem[1]
	locked := c.RcvBuf > 0
	if locked {
		v := min(c.RcvBuf, c.RmemMax)
		rcvbuf = max(2*v, linuxMinRcvbuf)
		p.RcvBuf = rcvbuf
	}
	fullSpace := int(uint64(rcvbuf) * uint64(ratio) >> 8) // tcp_full_space

	clamp := c.WindowClamp
	if locked && c.Era == LinuxCurrent && (clamp == 0 || clamp > fullSpace) {
		clamp = fullSpace
	}
	p.WindowClamp = clamp
	if c.NoWindowScaling {
		return p, nil
	}
	p.Offered = true

	limit := "tcp_rmem[2]"
	space := c.TCPRmem[2]
	if c.RmemMax > space {
		space, limit = c.RmemMax, "net.core.rmem_max"
	}
	if c.Era == LinuxCurrent && fullSpace > space {
		space, limit = fullSpace, "tcp_full_space"
	}
	if clamp > 0 && clamp < space {
		space = clamp
		limit = "TCP_WINDOW_CLAMP"
		if locked && c.Era == LinuxCurrent && (c.WindowClamp == 0 || c.WindowClamp > fullSpace) {
			limit = "SO_RCVBUF"
		}
	}
	p.Space, p.Limit = space, limit
	p.WScale = linuxShift(space)
	p.MaxWindow = int64(65535) << p.WScale
	return p, nil
}

// linuxShift is clamp(ilog2(space) - 15, 0, 14); 2.6.17's loop
// ("while (space > 65535 && shift < 14) { space >>= 1; shift++ }") gives the
// same result for every space.
func linuxShift(space int) int {
	if space <= 0 {
		return 0
	}
	s := bits.Len64(uint64(space)) - 1 - 15
	return min(max(s, 0), linuxMaxWScale)
}

// ParseTCPRmem parses a tcp_rmem/tcp_wmem triple ("4096 87380 174760",
// whitespace or tab separated, as /proc/sys prints it).
func ParseTCPRmem(s string) ([3]int, error) {
	var r [3]int
	f := strings.Fields(s)
	if len(f) != 3 {
		return r, fmt.Errorf("%w: tcp_rmem %q: want three integers MIN DEFAULT MAX", ErrLinuxConfig, s)
	}
	for i, v := range f {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return r, fmt.Errorf("%w: tcp_rmem %q: field %d is not a non-negative integer", ErrLinuxConfig, s, i+1)
		}
		r[i] = n
	}
	if r[2] == 0 {
		return r, fmt.Errorf("%w: tcp_rmem %q: max is 0", ErrLinuxConfig, s)
	}
	return r, nil
}
