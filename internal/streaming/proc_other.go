//go:build !linux

package streaming

import "errors"

func killContainerProcess(string, int) error {
	return errors.New("killing an exec's process is only supported on Linux")
}
