package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbcli"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

// retentionFlags are restic forget's --keep-* options.
type retentionFlags struct {
	last, hourly, daily, weekly, monthly, yearly *int
	within                                       *string
	forget                                       *string
	dryRun                                       *bool
}

func registerRetention(fs *flag.FlagSet) *retentionFlags {
	return &retentionFlags{
		last:    fs.Int("keep-last", 0, "retention: keep the newest N backups of the VM (like -keep)"),
		hourly:  fs.Int("keep-hourly", 0, "retention: keep the newest backup of each of the last N hours that have one"),
		daily:   fs.Int("keep-daily", 0, "retention: ... of each of the last N days"),
		weekly:  fs.Int("keep-weekly", 0, "retention: ... of each of the last N ISO weeks"),
		monthly: fs.Int("keep-monthly", 0, "retention: ... of each of the last N months"),
		yearly:  fs.Int("keep-yearly", 0, "retention: ... of each of the last N years"),
		within:  fs.String("keep-within", "", "retention: keep every backup within this span of the newest one, e.g. 7d, 1y2m, 36h (restic's y/m/d/h units)"),
		forget:  fs.String("forget", "", "apply the -keep-* policy to every VM's backups in this directory, remove the rest, and exit (no vCenter needed)"),
		dryRun:  fs.Bool("dry-run", false, "-forget: only report what would be removed"),
	}
}

// policy returns the policy the flags give, nil when none was given.
func (r *retentionFlags) policy() (*vcb.RetentionPolicy, error) {
	p := vcb.RetentionPolicy{Last: *r.last, Hourly: *r.hourly, Daily: *r.daily, Weekly: *r.weekly,
		Monthly: *r.monthly, Yearly: *r.yearly}
	for _, n := range []int{p.Last, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly} {
		if n < 0 {
			return nil, fmt.Errorf("-keep-* counts must not be negative")
		}
	}
	if *r.within != "" {
		d, err := parseSpan(*r.within)
		if err != nil {
			return nil, err
		}
		p.Within = d
	}
	if p.Empty() {
		return nil, nil
	}
	return &p, nil
}

// parseSpan parses restic's --keep-within form: "1y2m7d3h", years of 365
// days, months of 30 days, days and hours ("m" is months, not minutes).
func parseSpan(s string) (time.Duration, error) {
	orig := s
	var d time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("-keep-within %q: want a span like 7d, 1y2m or 36h", orig)
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("-keep-within %q: number out of range", orig)
		}
		unit := map[byte]time.Duration{'y': 365 * 24 * time.Hour, 'm': 30 * 24 * time.Hour, 'd': 24 * time.Hour, 'h': time.Hour}[s[i]]
		if unit == 0 {
			return 0, fmt.Errorf("-keep-within %q: unit %q: want y, m, d or h", orig, s[i:i+1])
		}
		d += time.Duration(n) * unit
		s = s[i+1:]
	}
	return d, nil
}

// runForget is "vcbmounter -forget DIR -keep-...": the policy applied to
// every VM's backups in DIR.
func runForget(ctx context.Context, r *retentionFlags, jsonOut bool, stdout, stderr io.Writer) int {
	p, err := r.policy()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
		return 2
	}
	if p == nil {
		fmt.Fprintf(stderr, "%s: -forget needs a policy (-keep-last, -keep-hourly, -keep-daily, -keep-weekly, -keep-monthly, -keep-yearly or -keep-within); nothing removed\n", tool)
		return 2
	}
	res, err := vcb.ForgetAll(ctx, *r.forget, *p, *r.dryRun)
	if jsonOut {
		_ = vcbcli.PrintJSON(stdout, map[string]any{"dir": *r.forget, "policy": p.String(), "dryRun": *r.dryRun, "backups": res, "error": errString(err)})
	} else {
		removed := 0
		for _, b := range res {
			verb := "keep  "
			if b.Keep == nil {
				verb = "remove"
				if b.Removed || *r.dryRun {
					removed++
				}
			}
			why := strings.Join(b.Keep, ", ")
			fmt.Fprintf(stdout, "%s %s  %s  %s  %s\n", verb, b.Created.UTC().Format(time.RFC3339), b.VM, b.Dir, why)
		}
		would := "removed"
		if *r.dryRun {
			would = "would be removed"
		}
		fmt.Fprintf(stdout, "%s: %d of %d backups %s (%s)\n", *r.forget, removed, len(res), would, p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
		return 1
	}
	return 0
}
