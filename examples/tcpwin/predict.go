package main

import (
	"io"

	"github.com/bulletproof-labs/wsvcb/examples/internal/predictcli"
)

// cmdPredict is `tcpwin predict`: the window-scale shift a Linux host
// offers for given tcp_rmem, net.core.rmem_max and SO_RCVBUF
// (tcpwin.PredictLinux). It returns the exit status: 0 ok, 1 input error,
// 2 usage.
func cmdPredict(args []string, stdout, stderr io.Writer) int {
	return predictcli.Run(args, stdout, stderr)
}
