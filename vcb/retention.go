package vcb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// RetentionPolicy says which backups of a VM to keep, as restic's forget
// does: a backup is kept when any rule keeps it.
//
//   - Last keeps the newest Last backups.
//   - Hourly, Daily, Weekly, Monthly and Yearly keep the newest backup of
//     each of the newest N hours, days, ISO weeks, months and years that
//     hold a backup (a bucket without a backup does not count). When fewer
//     buckets than asked for hold a backup, the oldest backup is kept too.
//   - Within keeps every backup made within Within before the newest one
//     (measured from the newest backup, not from now, so an old repository
//     left alone keeps its backups).
//
// A policy with no rule keeps everything: an empty policy never deletes.
type RetentionPolicy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Within                                       time.Duration
	// Location is the time zone buckets are counted in; nil means
	// time.Local, as restic does.
	Location *time.Location
}

// Empty reports whether the policy has no rule.
func (p RetentionPolicy) Empty() bool {
	return p.Last <= 0 && p.Hourly <= 0 && p.Daily <= 0 && p.Weekly <= 0 && p.Monthly <= 0 &&
		p.Yearly <= 0 && p.Within <= 0
}

// String renders the policy as the flags that set it.
func (p RetentionPolicy) String() string {
	var b []string
	for _, r := range []struct {
		name string
		n    int
	}{{"last", p.Last}, {"hourly", p.Hourly}, {"daily", p.Daily}, {"weekly", p.Weekly}, {"monthly", p.Monthly}, {"yearly", p.Yearly}} {
		if r.n > 0 {
			b = append(b, fmt.Sprintf("keep-%s %d", r.name, r.n))
		}
	}
	if p.Within > 0 {
		b = append(b, "keep-within "+p.Within.String())
	}
	if len(b) == 0 {
		return "keep all"
	}
	return strings.Join(b, ", ")
}

// Decide applies the policy to backup times ordered newest first and
// returns, for each, the reasons it is kept (nil: remove it).
func (p RetentionPolicy) Decide(times []time.Time) [][]string {
	reasons := make([][]string, len(times))
	if p.Empty() {
		for i := range reasons {
			reasons[i] = []string{"no policy"}
		}
		return reasons
	}
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	type rule struct {
		name   string
		n      int
		bucket func(time.Time) int
	}
	rules := []rule{
		{"last", p.Last, nil},
		{"hourly", p.Hourly, func(t time.Time) int { return t.Year()*1000000 + t.YearDay()*100 + t.Hour() }},
		{"daily", p.Daily, func(t time.Time) int { return t.Year()*1000 + t.YearDay() }},
		{"weekly", p.Weekly, func(t time.Time) int { y, w := t.ISOWeek(); return y*100 + w }},
		{"monthly", p.Monthly, func(t time.Time) int { return t.Year()*100 + int(t.Month()) }},
		{"yearly", p.Yearly, func(t time.Time) int { return t.Year() }},
	}
	for _, r := range rules {
		if r.n <= 0 {
			continue
		}
		left, last := r.n, 0
		for i, t := range times {
			if left == 0 {
				break
			}
			if r.bucket == nil { // last: every backup is its own bucket
				reasons[i] = append(reasons[i], r.name)
				left--
				continue
			}
			b := r.bucket(t.In(loc))
			if i > 0 && b == last {
				continue // an older backup of a bucket already kept
			}
			last = b
			reasons[i] = append(reasons[i], r.name)
			left--
		}
		// As restic (0.17+): when there are fewer buckets than asked for,
		// the oldest backup is kept too, so that a young repository keeps
		// its first backup as the longest-term one.
		if o := len(times) - 1; r.bucket != nil && left > 0 && o >= 0 && !slices.Contains(reasons[o], r.name) {
			reasons[o] = append(reasons[o], "oldest "+r.name)
		}
	}
	if p.Within > 0 && len(times) > 0 {
		newest := times[0]
		for i, t := range times {
			if newest.Sub(t) <= p.Within {
				reasons[i] = append(reasons[i], "within "+p.Within.String())
			}
		}
	}
	return reasons
}

// Forget removes the complete backups of vm under parent that policy does
// not keep, newest-first decisions as Decide makes them, and returns the
// removed directories. Like Rotate it renames a backup to a ".partial-"
// name before deleting it, so a crash never leaves a damaged backup that
// still looks complete. An empty policy removes nothing.
func Forget(ctx context.Context, parent string, vm VMInfo, policy RetentionPolicy) ([]string, error) {
	if policy.Empty() {
		return nil, nil
	}
	dirs, mans, err := Backups(parent)
	if err != nil {
		return nil, err
	}
	var mine []string
	var times []time.Time
	for i, m := range mans {
		if sameVM(m.VM, vm) {
			mine = append(mine, dirs[i])
			times = append(times, m.Created)
		}
	}
	var removed []string
	for i, why := range policy.Decide(times) {
		if why != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, newErr("forget", vm.MoRef, ErrWrite, err)
		}
		if err := removeBackupDir(parent, mine[i], "forgotten"); err != nil {
			return removed, newErr("forget", vm.MoRef, ErrWrite, err)
		}
		removed = append(removed, mine[i])
	}
	return removed, nil
}

// retire applies Keep and Retention after a successful backup.
func (o *BackupOptions) retire(ctx context.Context, parent string, vm VMInfo) error {
	var p RetentionPolicy
	if o.Retention != nil {
		p = *o.Retention
	}
	p.Last = max(p.Last, o.Keep)
	if p.Empty() {
		return nil
	}
	_, err := Forget(ctx, parent, vm, p)
	return err
}

// ForgetResult is what ForgetAll decided for one backup directory.
type ForgetResult struct {
	Dir     string    `json:"dir"`
	VM      string    `json:"vm"`
	Created time.Time `json:"created"`
	// Keep lists the rules that keep the backup; empty when it is (or,
	// with dryRun, would be) removed.
	Keep    []string `json:"keep,omitempty"`
	Removed bool     `json:"removed"`
}

// ForgetAll applies policy to every VM's complete backups under parent
// (grouped by VM, as restic groups snapshots by host and paths) and removes
// what it does not keep, or only reports it when dryRun is set. Results are
// ordered as Backups lists them, newest first.
func ForgetAll(ctx context.Context, parent string, policy RetentionPolicy, dryRun bool) ([]ForgetResult, error) {
	dirs, mans, err := Backups(parent)
	if err != nil {
		return nil, err
	}
	res := make([]ForgetResult, len(dirs))
	var groups [][]int
	for i, m := range mans {
		res[i] = ForgetResult{Dir: dirs[i], VM: m.VM.Name, Created: m.Created}
		found := false
		for g := range groups {
			if sameVM(mans[groups[g][0]].VM, m.VM) {
				groups[g] = append(groups[g], i)
				found = true
				break
			}
		}
		if !found {
			groups = append(groups, []int{i})
		}
	}
	for _, g := range groups {
		times := make([]time.Time, len(g))
		for k, i := range g {
			times[k] = mans[i].Created
		}
		for k, why := range policy.Decide(times) {
			res[g[k]].Keep = why
		}
	}
	if dryRun {
		return res, nil
	}
	for i := range res {
		if res[i].Keep != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, newErr("forget", res[i].VM, ErrWrite, err)
		}
		if err := removeBackupDir(parent, res[i].Dir, "forgotten"); err != nil {
			return res, newErr("forget", res[i].VM, ErrWrite, err)
		}
		res[i].Removed = true
	}
	return res, nil
}

// removeBackupDir renames a backup to a ".partial-" name, then deletes it,
// so that a crash never leaves a damaged backup that still looks complete.
func removeBackupDir(parent, dir, why string) error {
	doomed := filepath.Join(parent, "."+filepath.Base(dir)+".partial-"+why)
	if err := os.Rename(dir, doomed); err != nil {
		return err
	}
	return os.RemoveAll(doomed)
}
