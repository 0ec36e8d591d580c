package live

// Test hooks for package live_test.

// FrameSpec and BuildFrame craft frames (see frame_test.go).
type (
	FrameSpec = frameSpec
	ExtHdr    = extHdr
)

var BuildFrame = buildFrame
