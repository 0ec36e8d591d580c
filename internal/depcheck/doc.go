// Package depcheck holds a test that keeps the core packages independent:
// importing tcpwin must not pull in govmomi, sysctl must not pull in
// gopacket, and so on; and (layers_test.go) nothing in internal/ imports a
// public package of the module.
package depcheck
