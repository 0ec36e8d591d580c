package main

import (
	"io"

	"github.com/bulletproof-labs/wsvcb/internal/predictcli"
)

// cmdPredict is `tcpwin predict`: the window-scale shift a Linux host
// offers for given tcp_rmem, net.core.rmem_max and SO_RCVBUF
// (tcpwin.PredictLinux). It returns the exit status: 0 ok, 1 input error,
// 2 usage. Wire it into run's dispatcher as
//
//	case "predict":
//		return cmdPredict(args, stdout, stderr)
func cmdPredict(args []string, stdout, stderr io.Writer) int {
	return predictcli.Run(args, stdout, stderr)
}
