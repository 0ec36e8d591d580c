package netlab_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
)

// The seed's middlebox: the client's SYN offers wscale 6; the rule resets
// shifts above 2 to 0 and fixes the TCP checksum.
func ExampleRewriteFrame() {
	syn := netlab.ExampleSYN(6)
	e := netlab.RewriteFrame(syn, netlab.ClientToServer, []netlab.Rule{netlab.SeedRule})
	fmt.Println(netlab.SeedRule)
	fmt.Printf("shift %d -> %d, rewritten %v, checksum ok %v\n", e.OldShift, e.NewShift, e.Rewritten, netlab.TCPChecksumOK(syn))
	// Output:
	// rewrite wscale >=3->0 client->server
	// shift 6 -> 0, rewritten true, checksum ok true
}

// A lab with a 40 ms round trip and the seed's rewriting middlebox (root).
func ExampleNew() {
	lab, err := netlab.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer lab.Close()
	mb, err := netlab.StartMiddlebox(lab, &netlab.MiddleboxConfig{
		Rules: []netlab.Rule{netlab.SeedRule},
		Delay: 20 * time.Millisecond,
		Rate:  1250000,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer mb.Close()
	res, err := lab.Bulk(context.Background(), &netlab.BulkConfig{Duration: 2 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res, mb.Stats())
}
