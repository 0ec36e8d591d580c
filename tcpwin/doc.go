// Package tcpwin analyses TCP window scaling (RFC 7323): the arithmetic of
// scaled windows, decoding of TCP options and handshakes from captures,
// per-connection tracking of the negotiated scale, and diagnosis of broken
// scaling such as a middlebox that rewrites the window-scale option.
package tcpwin
