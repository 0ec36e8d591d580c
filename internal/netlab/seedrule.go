package netlab

// SeedRule is the 2006 middlebox: it resets the client's SYN window-scale
// shift to 0 when the shift is larger than 2 (the seed: 6 became 0, while
// "a wscale value of about 2 ... is acceptable to most broken routers").
var SeedRule = RewriteAbove(ClientToServer, 2, 0)
