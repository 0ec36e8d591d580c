//go:build !linux

package live

import "github.com/bulletproof-labs/wsvcb/tcpwin"

// Source is a live capture source (Linux only).
type Source struct{}

// Open returns ErrUnsupported on this system.
func Open(ifname string, cfg *Config) (*Source, error) { return nil, ErrUnsupported }

// Next returns ErrUnsupported.
func (s *Source) Next() (*tcpwin.Segment, error) { return nil, ErrUnsupported }

// Close does nothing.
func (s *Source) Close() error { return nil }

// Stats returns zero counters.
func (s *Source) Stats() (Stats, error) { return Stats{}, ErrUnsupported }

// Link returns the link type (Ethernet).
func (s *Source) Link() tcpwin.LinkType { return tcpwin.LinkEthernet }

// Mode returns ModeAuto: nothing is captured.
func (s *Source) Mode() Mode { return ModeAuto }

// RingError returns ErrUnsupported.
func (s *Source) RingError() error { return ErrUnsupported }
