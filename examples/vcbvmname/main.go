// Command vcbvmname lists virtual machines like VMware Consolidated
// Backup's vcbVmName:
//
//	vcbvmname -h vc.example.com -u backup -s any:
//	vcbvmname -h vc.example.com -u backup -s ipaddr:10.0.0.5 -json
//	vcbvmname -sim -s powerstate:on
//
// Selectors: any:, name:NAME, ipaddr:IP, uuid:UUID, moref:vm-42,
// powerstate:on|off|suspended. The password comes from $GOVC_PASSWORD,
// -passfile or a prompt, never from the command line.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbcli"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vcbvmname", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn vcbcli.Conn
	conn.Register(fs)
	selStr := fs.String("s", "any:", "selector: any:, name:, ipaddr:, uuid:, moref:, powerstate:")
	verbose := fs.Bool("v", false, "also print host, power state, datastores and disks")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sel, err := vcb.ParseSelector(*selStr)
	if err != nil {
		return vcbcli.Fail(stderr, "vcbvmname", err)
	}
	s, err := conn.Connect(ctx, stdin, stderr)
	if err != nil {
		return vcbcli.Fail(stderr, "vcbvmname", err)
	}
	defer s.Close()
	vms, err := s.List(ctx, sel)
	if err != nil {
		return vcbcli.Fail(stderr, "vcbvmname", err)
	}
	if conn.JSON {
		if vms == nil {
			vms = []vcb.VMInfo{}
		}
		if err := vcbcli.PrintJSON(stdout, vms); err != nil {
			return vcbcli.Fail(stderr, "vcbvmname", err)
		}
		return 0
	}
	if len(vms) == 0 {
		fmt.Fprintf(stderr, "vcbvmname: no VM matches %s\n", sel)
		return 1
	}
	for _, vm := range vms {
		fmt.Fprintln(stdout, "Found VM:")
		fmt.Fprintf(stdout, "moref:%s\nname:%s\nuuid:%s\nipaddr:%s\n", vm.MoRef, vm.Name, vm.BIOSUUID, strings.Join(vm.IPs, ","))
		if *verbose {
			fmt.Fprintf(stdout, "instanceuuid:%s\npowerstate:%s\nhost:%s\ndatastores:%s\n", vm.InstanceUUID, vm.PowerState, vm.Host, strings.Join(vm.Datastores, ","))
			for _, d := range vm.Disks {
				fmt.Fprintf(stdout, "disk:%s %s %d\n", d.Slot, d.File, d.CapacityBytes)
			}
		}
		fmt.Fprintln(stdout)
	}
	return 0
}
