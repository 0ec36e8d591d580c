package tcpwin

import (
	"fmt"
	"io"
)

func newTextReader(r io.Reader, name string) (FileSource, error) {
	return nil, &InputError{Name: name, Err: fmt.Errorf("%w: tcpdump text not implemented yet", ErrFormat)}
}
