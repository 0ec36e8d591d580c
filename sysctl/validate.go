package sysctl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Validated is a value checked against what is known about its key.
type Validated struct {
	Canonical string   // the form written: decimal fields joined by a tab
	Fields    []int64  // parsed integers, for integer kinds
	Kind      Kind     // the kind used for validation (inferred if unknown)
	Warnings  []string // accepted but suspicious (e.g. tcp_rmem min > max)
}

// Validate checks value for key k before anything is written. current is
// the key's present value (used to infer the shape of keys the package has
// no knowledge of); pass haveCurrent=false when it is unknown (write-only
// keys). The returned error wraps ErrInvalid.
//
// Integers must be plain decimal: the kernel reads "010" as octal 8 and
// "0x10" as 16, which is almost never what a configuration file meant, so
// leading zeros and hex are refused. The number of fields must match
// exactly: the kernel drops extra fields silently and keeps old values for
// missing ones.
func Validate(k Key, value, current string, haveCurrent bool) (Validated, error) {
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\n\x00") {
		return Validated{}, invalid(k, value, errors.New("value spans several lines or holds a NUL byte"))
	}
	spec, known := Lookup(k)
	if !known || spec.Kind == KindUnknown {
		spec = inferSpec(current, haveCurrent)
	}
	v := Validated{Kind: spec.Kind}
	switch spec.Kind {
	case KindString, KindUnknown:
		v.Canonical = value
		return v, nil
	}
	fields := strings.Fields(value)
	want := 1
	if spec.Kind == KindInts {
		want = spec.Fields
	}
	if want > 0 && len(fields) != want {
		return v, invalid(k, value, fmt.Errorf("%d field(s), want %d (%s)", len(fields), want, spec.Kind))
	}
	if len(fields) == 0 {
		return v, invalid(k, value, errors.New("empty value"))
	}
	for i, f := range fields {
		n, err := parseDecimal(f)
		if err != nil {
			return v, invalid(k, value, fmt.Errorf("field %d: %w", i+1, err))
		}
		if spec.Ranged && (n < spec.Min || n > spec.Max) {
			return v, invalid(k, value, fmt.Errorf("field %d: %d out of range [%d, %d]", i+1, n, spec.Min, spec.Max))
		}
		v.Fields = append(v.Fields, n)
	}
	if spec.Check != nil {
		w, err := spec.Check(v.Fields)
		if err != nil {
			return v, invalid(k, value, err)
		}
		v.Warnings = w
	}
	parts := make([]string, len(v.Fields))
	for i, n := range v.Fields {
		parts[i] = strconv.FormatInt(n, 10)
	}
	v.Canonical = strings.Join(parts, "\t")
	return v, nil
}

func invalid(k Key, value string, err error) error {
	return &Error{Key: k.String(), Value: value, Op: OpValidate, Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
}

// inferSpec derives a shape from the current value: all-integer values keep
// their arity, anything else is free text.
func inferSpec(current string, haveCurrent bool) Spec {
	if !haveCurrent {
		return Spec{Kind: KindString}
	}
	fields := strings.Fields(current)
	if len(fields) == 0 {
		return Spec{Kind: KindString}
	}
	for _, f := range fields {
		if _, err := parseDecimal(f); err != nil {
			return Spec{Kind: KindString}
		}
	}
	if len(fields) == 1 {
		return Spec{Kind: KindInt}
	}
	return Spec{Kind: KindInts, Fields: len(fields)}
}

// parseDecimal accepts an optional minus sign and decimal digits without
// leading zeros, fitting in int64 (or uint64 values up to MaxInt64).
func parseDecimal(s string) (int64, error) {
	d := strings.TrimPrefix(s, "-")
	if d == "" {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal integer", s)
		}
	}
	if len(d) > 1 && d[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero (the kernel would read it as octal)", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err.(*strconv.NumError).Err)
	}
	return n, nil
}

// sameValue compares two values field by field, ignoring blank differences.
func sameValue(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i] != fb[i] {
			return false
		}
	}
	return true
}
