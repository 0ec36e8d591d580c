package netlab

import (
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestMiddleboxCountsEachSYNCopy sends one SYN twice (a retransmission) and
// a SYN-ACK from the client's side: the seed rule (client->server, any SYN)
// edits all three, and the middlebox counts the two SYN copies as client
// SYNs but not the SYN-ACK, so lab tests can compare edits with ClientSYNs
// instead of expecting exactly one.
func TestMiddleboxCountsEachSYNCopy(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ethtool")
	lab := NewT(t, &Config{Prefix: "syn"})
	mb, err := StartMiddlebox(lab, &MiddleboxConfig{Rules: []Rule{SeedRule}})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	var fd int
	if err := lab.Client.Do(func() error {
		var err error
		fd, err = openPacket(lab.ClientIf, false, false, 100*time.Millisecond)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, f := range [][]byte{ExampleSYN(7), ExampleSYN(7), synFrame(7, true)} {
		if _, err := unix.Write(fd, f); err != nil {
			t.Fatal(err)
		}
	}
	// Wait (a guard, not a pace) until the middlebox has read all three.
	deadline := time.Now().Add(30 * time.Second)
	var st Stats
	for st = mb.Stats(); st.SYNs < 3; st = mb.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("middlebox saw %d of 3 SYNs: %+v", st.SYNs, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st.SYNs != 3 || st.ClientSYNs != 2 || st.Rewritten != 3 {
		t.Errorf("stats %+v, want 3 SYNs (all rewritten) of which 2 client SYNs", st)
	}
	for i, e := range mb.Edits() {
		if want := i == 2; e.ACK != want {
			t.Errorf("edit %d: %+v, ACK should be %v", i, e, want)
		}
	}
}
