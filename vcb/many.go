package vcb

import (
	"context"
	"sync"
	"time"
)

// ManyOptions tune BackupMany. A nil *ManyOptions means the defaults.
type ManyOptions struct {
	// Concurrency is how many VMs are backed up at once; default 1 (one
	// snapshot open at a time, as ghettoVCB does).
	Concurrency int
	// Backup runs one VM's backup into dir; default Client.Backup (fullvm).
	// Set it for chunked or file-level backups.
	Backup func(ctx context.Context, vm VMInfo, dir string) (*Manifest, error)
	// Started and Done, when set, are called as each VM starts and ends
	// (from the backup's goroutine).
	Started func(vm VMInfo, dir string)
	Done    func(r VMResult)
}

// VMResult is one VM's outcome in BackupMany.
type VMResult struct {
	VM       VMInfo        `json:"vm"`
	Dir      string        `json:"dir"`
	Manifest *Manifest     `json:"-"`
	Err      error         `json:"-"`
	Error    string        `json:"error,omitempty"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"durationNs"`
}

// OK reports whether the VM was backed up.
func (r VMResult) OK() bool { return r.Err == nil }

// SelectMany returns the VMs matching any of include and none of exclude,
// sorted by name, each once.
func (c *Client) SelectMany(ctx context.Context, include, exclude []Selector) ([]VMInfo, error) {
	all, err := c.List(ctx, Selector{Kind: SelectAny})
	if err != nil {
		return nil, err
	}
	var out []VMInfo
	for i := range all {
		in := false
		for _, s := range include {
			if s.Match(&all[i]) {
				in = true
				break
			}
		}
		for _, s := range exclude {
			if in && s.Match(&all[i]) {
				in = false
			}
		}
		if in {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// BackupMany backs up every VM in vms into dirFor(vm), at most
// opts.Concurrency at once, and returns one result per VM in the order of
// vms. One VM's failure does not stop the others; each backup removes its
// own snapshot whatever happens (Backup's guarantee), also when ctx is
// canceled. The error is ctx's when the run was canceled, else nil: look
// at each result's Err.
func (c *Client) BackupMany(ctx context.Context, vms []VMInfo, dirFor func(VMInfo) string, opts *ManyOptions) ([]VMResult, error) {
	var o ManyOptions
	if opts != nil {
		o = *opts
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.Backup == nil {
		o.Backup = func(ctx context.Context, vm VMInfo, dir string) (*Manifest, error) {
			return c.Backup(ctx, vm, dir, nil)
		}
	}
	res := make([]VMResult, len(vms))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, vm := range vms {
		dir := dirFor(vm)
		res[i] = VMResult{VM: vm, Dir: dir}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			res[i].Err = newErr("backup", vm.MoRef, ErrWrite, ctx.Err())
			res[i].Error = res[i].Err.Error()
			continue
		}
		wg.Add(1)
		go func(r *VMResult) {
			defer wg.Done()
			defer func() { <-sem }()
			if o.Started != nil {
				o.Started(r.VM, r.Dir)
			}
			start := time.Now()
			r.Manifest, r.Err = o.Backup(ctx, r.VM, r.Dir)
			r.Duration = time.Since(start)
			if r.Err != nil {
				r.Error = r.Err.Error()
			}
			if r.Manifest != nil {
				for _, f := range r.Manifest.Files {
					r.Bytes += f.Size
				}
			}
			if o.Done != nil {
				o.Done(*r)
			}
		}(&res[i])
	}
	wg.Wait()
	return res, ctx.Err()
}
