package promwin_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/promwin"
	"github.com/prometheus/client_golang/prometheus"
)

// A Monitor fed with a capture (here a client-side tcpdump text of a
// handshake whose responder did not answer the window-scale option),
// registered and gathered like any collector.
func ExampleMonitor() {
	const capture = `12:00:00.000000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 10], length 0
12:00:00.040000 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1], length 0
12:00:00.040100 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 5001, win 64240, length 0
`
	m := promwin.NewMonitor(nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	src, err := tcpwin.NewReader(strings.NewReader(capture), "capture")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := m.Run(context.Background(), src); err != nil {
		fmt.Println(err)
		return
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "tcpwin_handshakes_total", "tcpwin_findings_total":
			for _, x := range mf.GetMetric() {
				var labels []string
				for _, l := range x.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				fmt.Println(mf.GetName(), strings.Join(labels, ","), x.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// tcpwin_findings_total kind=one-sided-scaling,severity=warning 1
	// tcpwin_handshakes_total scaling=one_sided 1
}
