package sysctl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulletproof-labs/wsvcb/sysctl"
	"github.com/bulletproof-labs/wsvcb/sysctl/sysctltest"
)

// fakeProcSys builds a small fake /proc/sys in a temporary directory with
// package sysctltest, the public test double.
func fakeProcSys() (string, func()) {
	root, err := os.MkdirTemp("", "procsys")
	if err != nil {
		panic(err)
	}
	err = sysctltest.Write(root, map[string]string{
		"net.ipv4.tcp_window_scaling":      "1",
		"net.ipv4.tcp_rmem":                "4096\t131072\t6291456",
		"net.ipv4.tcp_sack":                "1",
		"net.ipv4.conf.eth0/100.rp_filter": "0",
		"net.core.rmem_max":                "212992",
	})
	if err != nil {
		panic(err)
	}
	return root, func() { os.RemoveAll(root) }
}

func ExampleParseKey() {
	for _, s := range []string{"net.ipv4.tcp_rmem", "net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter", "net/../../etc/passwd"} {
		k, err := sysctl.ParseKey(s)
		if err != nil {
			fmt.Println(errors.Is(err, sysctl.ErrBadKey), err)
			continue
		}
		fmt.Printf("%s -> %s\n", k, k.Path())
	}
	// Output:
	// net.ipv4.tcp_rmem -> net/ipv4/tcp_rmem
	// net.ipv4.conf.eth0/100.rp_filter -> net/ipv4/conf/eth0.100/rp_filter
	// net.ipv4.conf.eth0/100.rp_filter -> net/ipv4/conf/eth0.100/rp_filter
	// true sysctl: validate net/../../etc/passwd: bad key: component .. would leave the sysctl tree
}

func ExampleFS_ReadInts() {
	root, cleanup := fakeProcSys()
	defer cleanup()
	fs, _ := sysctl.NewFS(root) // sysctl.NewFS("") is the real /proc/sys
	rmem, _ := fs.ReadInts("net.ipv4.tcp_rmem")
	ws, _ := fs.ReadBool("net.ipv4.tcp_window_scaling")
	_, err := fs.Read("net.ipv4.nope")
	fmt.Println(rmem, ws, errors.Is(err, sysctl.ErrNotExist))
	// Output: [4096 131072 6291456] true true
}

func ExampleFS_List() {
	root, cleanup := fakeProcSys()
	defer cleanup()
	fs, _ := sysctl.NewFS(root)
	ents, _ := fs.List("net.ipv4")
	for _, e := range ents {
		fmt.Printf("%s = %s\n", e.Key, strings.ReplaceAll(e.Value, "\t", " "))
	}
	// Output:
	// net.ipv4.conf.eth0/100.rp_filter = 0
	// net.ipv4.tcp_rmem = 4096 131072 6291456
	// net.ipv4.tcp_sack = 1
	// net.ipv4.tcp_window_scaling = 1
}

// The seed's fix, applied all or nothing and undone later.
func ExampleFS_Apply() {
	root, cleanup := fakeProcSys()
	defer cleanup()
	fs, _ := sysctl.NewFS(root)
	ctx := context.Background()
	tx, err := fs.Apply(ctx, []sysctl.Setting{
		{Key: "net.ipv4.tcp_window_scaling", Value: "0"},
		{Key: "net.ipv4.tcp_rmem", Value: "4096 87380 4194304"},
		{Key: "net.ipv4.tcp_sack", Value: "1"}, // unchanged: not written
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range tx.Changes() {
		fmt.Println(c)
	}
	// A failing batch changes nothing: validation happens before any write.
	_, err = fs.Apply(ctx, []sysctl.Setting{
		{Key: "net.ipv4.tcp_sack", Value: "0"},
		{Key: "net.ipv4.tcp_rmem", Value: "4096 87380 x"},
	})
	sack, _ := fs.Read("net.ipv4.tcp_sack")
	fmt.Println(errors.Is(err, sysctl.ErrInvalid), "tcp_sack still", sack)

	tx.Restore(ctx) // like tuned on exit
	ws, _ := fs.Read("net.ipv4.tcp_window_scaling")
	fmt.Println("restored tcp_window_scaling =", ws)
	// Output:
	// net.ipv4.tcp_window_scaling: 1 -> 0
	// net.ipv4.tcp_rmem: 4096 131072 6291456 -> 4096 87380 4194304
	// net.ipv4.tcp_sack = 1 (unchanged)
	// true tcp_sack still 1
	// restored tcp_window_scaling = 1
}

func ExampleFS_Plan() {
	root, cleanup := fakeProcSys()
	defer cleanup()
	fs, _ := sysctl.NewFS(root)
	plan, _ := fs.Plan(context.Background(), []sysctl.Setting{{Key: "net.ipv4.tcp_rmem", Value: "8192 4096 2048"}})
	for _, c := range plan {
		fmt.Println(c)
		for _, w := range c.Warnings {
			fmt.Println("warning:", w)
		}
	}
	// Output:
	// net.ipv4.tcp_rmem: 4096 131072 6291456 -> 8192 4096 2048
	// warning: min 8192 > default 4096
	// warning: default 4096 > max 2048
	// warning: min 8192 > max 2048
}

func ExampleValidate() {
	k := sysctl.MustParseKey("net.ipv4.tcp_rmem")
	for _, v := range []string{"4096  87380\t4194304", "010 87380 4194304", "4096 87380", "4096 87380 4194304 1"} {
		got, err := sysctl.Validate(k, v, "4096\t131072\t6291456", true)
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		fmt.Printf("canonical %q\n", got.Canonical)
	}
	// Output:
	// canonical "4096\t87380\t4194304"
	// refused: sysctl: validate net.ipv4.tcp_rmem = "010 87380 4194304": invalid value: field 1: "010" has a leading zero (the kernel would read it as octal)
	// refused: sysctl: validate net.ipv4.tcp_rmem = "4096 87380": invalid value: 2 field(s), want 3 (int vector)
	// refused: sysctl: validate net.ipv4.tcp_rmem = "4096 87380 4194304 1": invalid value: 4 field(s), want 3 (int vector)
}

func ExampleParseConf() {
	conf := `# seed fix
net.ipv4.tcp_window_scaling = 0
-net.ipv4.tcp_rmem = 4096 87380 4194304
net.ipv4.conf.*.rp_filter = 2
this line is wrong
`
	settings, err := sysctl.ParseConf(strings.NewReader(conf), "90-seed.conf")
	for _, s := range settings {
		fmt.Printf("%s: %s = %q ignore=%v\n", s.Source, s.Key, s.Value, s.IgnoreErrors)
	}
	fmt.Println(err)
	// Output:
	// 90-seed.conf:2: net.ipv4.tcp_window_scaling = "0" ignore=false
	// 90-seed.conf:3: net.ipv4.tcp_rmem = "4096 87380 4194304" ignore=true
	// 90-seed.conf:4: net.ipv4.conf.*.rp_filter = "2" ignore=false
	// 90-seed.conf:5: invalid syntax (no "="): "this line is wrong"
}

func ExampleWriteDropIn() {
	dir, _ := os.MkdirTemp("", "sysctld")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "90-wsvcb.conf")
	sysctl.WriteDropIn(p, "TCP window scaling workaround", []sysctl.Setting{
		{Key: "net/ipv4/tcp_window_scaling", Value: "0"},
	})
	b, _ := os.ReadFile(p)
	fmt.Print(string(b))
	// Output:
	// # TCP window scaling workaround
	// net.ipv4.tcp_window_scaling = 0
}

// Network namespaces need root; this example only compiles.
func ExampleOpenNetNS() {
	fs, err := sysctl.OpenNetNS("blue") // /run/netns/blue, as made by "ip netns add blue"
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fs.Close()
	_, err = fs.Set(context.Background(), "net.ipv4.tcp_window_scaling", "0")
	fmt.Println(err)
	_, err = fs.Set(context.Background(), "vm.swappiness", "10") // refused: global key
	fmt.Println(errors.Is(err, sysctl.ErrNotNamespaced))
}

func ExampleUpdateDropIn() {
	dir, _ := os.MkdirTemp("", "sysctld")
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "sysctl.conf")
	os.WriteFile(conf, []byte("# tuned by hand\nnet.ipv4.tcp_sack = 0\n"), 0o600)
	link := filepath.Join(dir, "99-sysctl.conf")
	os.Symlink("sysctl.conf", link) // Debian's layout
	err := sysctl.UpdateDropIn(link, "written by example", []sysctl.Setting{
		{Key: "net.ipv4.tcp_sack", Value: "1"},
		{Key: "net.ipv4.tcp_window_scaling", Value: "1"},
	})
	b, _ := os.ReadFile(conf)
	fmt.Print(string(b), err)
	// Output:
	// # tuned by hand
	// net.ipv4.tcp_sack = 1
	// net.ipv4.tcp_window_scaling = 1
	// <nil>
}
