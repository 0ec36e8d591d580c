package main

import (
	"fmt"
	"strings"
)

// options mirrors procps-ng sysctl's flags plus this tool's extras.
type options struct {
	all, binary, ignore, names, values, quiet, write, system, dryRun, deprecated bool
	load                                                                         bool
	loadFile                                                                     string
	pattern                                                                      string
	help, version                                                                bool

	netns, persist, root, confPrefix string
	rollback                         string // "", "true", "false"
	verbose                          bool
	check                            bool
	saveUndo, undo                   string

	args []string
}

type longOpt struct {
	name string
	arg  int // 0 none, 1 required, 2 optional
	set  func(o *options, v string)
}

var longOpts = []longOpt{
	{"all", 0, func(o *options, _ string) { o.all = true }},
	{"deprecated", 0, func(o *options, _ string) { o.deprecated = true }},
	{"dry-run", 0, func(o *options, _ string) { o.dryRun = true }},
	{"binary", 0, func(o *options, _ string) { o.binary, o.values = true, true }},
	{"ignore", 0, func(o *options, _ string) { o.ignore = true }},
	{"names", 0, func(o *options, _ string) { o.names = true }},
	{"values", 0, func(o *options, _ string) { o.values = true }},
	{"load", 2, func(o *options, v string) { o.load = true; o.loadFile = v }},
	{"quiet", 0, func(o *options, _ string) { o.quiet = true }},
	{"write", 0, func(o *options, _ string) { o.write = true }},
	{"system", 0, func(o *options, _ string) { o.system, o.ignore = true, true }},
	{"pattern", 1, func(o *options, v string) { o.pattern = v }},
	{"help", 0, func(o *options, _ string) { o.help = true }},
	{"version", 0, func(o *options, _ string) { o.version = true }},
	// Extras.
	{"netns", 1, func(o *options, v string) { o.netns = v }},
	{"persist", 1, func(o *options, v string) { o.persist = v }},
	{"rollback-on-error", 2, func(o *options, v string) {
		if v == "" {
			v = "true"
		}
		o.rollback = v
	}},
	{"no-rollback", 0, func(o *options, _ string) { o.rollback = "false" }},
	{"root", 1, func(o *options, v string) { o.root = v }},
	{"conf-prefix", 1, func(o *options, v string) { o.confPrefix = v }},
	{"verbose", 0, func(o *options, _ string) { o.verbose = true }},
	{"check", 0, func(o *options, _ string) { o.check = true }},
	{"save-undo", 1, func(o *options, v string) { o.saveUndo = v }},
	{"undo", 1, func(o *options, v string) { o.undo = v }},
}

// usageErr is a getopt diagnostic; procps then prints the usage on stdout
// and exits 0.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

// parseArgs emulates getopt_long("bneNwfp::qoxaAXr:Vdh") with GNU argument
// permutation: options may follow operands; "--" ends the options.
func parseArgs(argv0 string, args []string) (*options, error) {
	o := &options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			o.args = append(o.args, args[i+1:]...)
			return o, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			var match []longOpt
			for _, l := range longOpts {
				if l.name == name {
					match = []longOpt{l}
					break
				}
				if strings.HasPrefix(l.name, name) {
					match = append(match, l)
				}
			}
			if len(match) != 1 {
				if len(match) > 1 {
					return nil, usageErr{fmt.Sprintf("%s: option '%s' is ambiguous", argv0, a)}
				}
				return nil, usageErr{fmt.Sprintf("%s: unrecognized option '%s'", argv0, a)}
			}
			l := match[0]
			switch l.arg {
			case 0:
				if hasVal {
					return nil, usageErr{fmt.Sprintf("%s: option '--%s' doesn't allow an argument", argv0, l.name)}
				}
			case 1:
				if !hasVal {
					if i+1 >= len(args) {
						return nil, usageErr{fmt.Sprintf("%s: option '--%s' requires an argument", argv0, l.name)}
					}
					i++
					val = args[i]
				}
			}
			l.set(o, val)
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				c := a[j]
				switch c {
				case 'b':
					o.binary, o.values = true, true
				case 'n':
					o.values = true
				case 'e':
					o.ignore = true
				case 'N':
					o.names = true
				case 'w':
					o.write = true
				case 'f', 'p':
					o.load = true
					if j+1 < len(a) {
						o.loadFile = a[j+1:]
						j = len(a)
					}
				case 'q':
					o.quiet = true
				case 'o', 'x':
				case 'a', 'A', 'X':
					o.all = true
				case 'r':
					if j+1 < len(a) {
						o.pattern = a[j+1:]
					} else if i+1 < len(args) {
						i++
						o.pattern = args[i]
					} else {
						return nil, usageErr{fmt.Sprintf("%s: option requires an argument -- 'r'", argv0)}
					}
					j = len(a)
				case 'V':
					o.version = true
				case 'd', 'h':
					o.help = true
				default:
					return nil, usageErr{fmt.Sprintf("%s: invalid option -- '%c'", argv0, c)}
				}
			}
		default:
			o.args = append(o.args, a)
		}
	}
	return o, nil
}

const usage = `
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
`

const extraUsage = `
Extras (not in procps):
      --netns <name|path>  operate on the net.* keys of a network namespace
      --dry-run            print the diff (old -> new) without writing
      --persist <file>     merge the written keys into a sysctl.d drop-in
                           (in place: link target, comments, mode kept)
      --rollback-on-error[=false]
                           all-or-nothing writes (default for several keys)
      --root <dir>         sysctl tree to use instead of /proc/sys ($SYSCTL_ROOT)
      --conf-prefix <dir>  prefix for the --system directories ($SYSCTL_CONF_PREFIX)
      --verbose            explain refused values
      --check              compare the running values with the given settings,
                           -p files or --system without writing; list each
                           difference; exit 3 on drift, 0 in sync, 1 on errors
      --save-undo <file>   before writing, save the old values of the keys the
                           write changes, as a sysctl.d file (mode 0600)
      --undo <file>        restore a --save-undo file (same as -p <file>)
`
