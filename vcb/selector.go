package vcb

import (
	"fmt"
	"net/netip"
	"strings"
)

// SelectorKind is the part of a VCB selector before the colon.
type SelectorKind string

// The selector kinds of vcbVmName -s.
const (
	SelectAny        SelectorKind = "any"
	SelectName       SelectorKind = "name"
	SelectIPAddr     SelectorKind = "ipaddr"
	SelectUUID       SelectorKind = "uuid"
	SelectMoRef      SelectorKind = "moref"
	SelectPowerState SelectorKind = "powerstate"
)

// Selector picks VMs the way vcbVmName's -s and vcbMounter's -a did:
// "any:", "name:web01", "ipaddr:10.0.0.5", "uuid:4211...", "moref:vm-42",
// "powerstate:on" (on, off, suspended, or the vSphere names poweredOn, ...).
type Selector struct {
	Kind  SelectorKind
	Value string
}

// String returns the selector in its kind:value form.
func (s Selector) String() string { return string(s.Kind) + ":" + s.Value }

// ParseSelector parses "kind:value". It never panics; invalid input
// returns an error wrapping ErrSelector.
func ParseSelector(s string) (Selector, error) {
	kind, value, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Selector{}, errf("select", "", ErrSelector, "%q has no kind (want any:, name:, ipaddr:, uuid:, moref: or powerstate:)", s)
	}
	sel := Selector{Kind: SelectorKind(strings.ToLower(kind)), Value: strings.TrimSpace(value)}
	switch sel.Kind {
	case SelectAny:
		if sel.Value != "" {
			return Selector{}, errf("select", "", ErrSelector, "any: takes no value, got %q", sel.Value)
		}
	case SelectName:
		if sel.Value == "" {
			return Selector{}, errf("select", "", ErrSelector, "name: needs a VM name")
		}
	case SelectIPAddr:
		if _, err := netip.ParseAddr(sel.Value); err != nil {
			return Selector{}, errf("select", "", ErrSelector, "ipaddr: %v", err)
		}
	case SelectUUID:
		if sel.Value == "" {
			return Selector{}, errf("select", "", ErrSelector, "uuid: needs a UUID")
		}
	case SelectMoRef:
		v := strings.TrimPrefix(sel.Value, "VirtualMachine:")
		if v == "" || strings.ContainsAny(v, " \t/") {
			return Selector{}, errf("select", "", ErrSelector, "moref: needs a managed object id like vm-42, got %q", sel.Value)
		}
		sel.Value = v
	case SelectPowerState:
		ps, err := normalizePowerState(sel.Value)
		if err != nil {
			return Selector{}, newErr("select", "", ErrSelector, err)
		}
		sel.Value = ps
	default:
		return Selector{}, errf("select", "", ErrSelector, "unknown kind %q", kind)
	}
	return sel, nil
}

func normalizePowerState(v string) (string, error) {
	switch strings.ToLower(v) {
	case "on", "poweredon":
		return "poweredOn", nil
	case "off", "poweredoff":
		return "poweredOff", nil
	case "suspended":
		return "suspended", nil
	}
	return "", fmt.Errorf("powerstate: want on, off or suspended, got %q", v)
}

// Match reports whether the VM matches the selector.
func (s Selector) Match(vm *VMInfo) bool {
	switch s.Kind {
	case SelectAny:
		return true
	case SelectName:
		return vm.Name == s.Value
	case SelectIPAddr:
		want, err := netip.ParseAddr(s.Value)
		if err != nil {
			return false
		}
		for _, ip := range vm.IPs {
			if a, err := netip.ParseAddr(ip); err == nil && a == want {
				return true
			}
		}
	case SelectUUID:
		return strings.EqualFold(vm.BIOSUUID, s.Value) || strings.EqualFold(vm.InstanceUUID, s.Value)
	case SelectMoRef:
		return vm.MoRef == s.Value
	case SelectPowerState:
		return vm.PowerState == s.Value
	}
	return false
}
