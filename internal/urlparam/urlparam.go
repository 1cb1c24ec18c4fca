// Package urlparam reads the parameters that every backend's store URL
// takes, so that each backend, which owns its URLs, reads them alike.
package urlparam

import (
	"fmt"
	"strconv"
)

// MaxMessageSize is the parameter that sets the largest message a store
// accepts (see domain.Limits).
const MaxMessageSize = "max_message_size"

// ParseMaxMessageSize reads a max_message_size value: a number of bytes, 0
// for the default, negative for no limit.
func ParseMaxMessageSize(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%s (use a number of bytes, such as 4194304; -1 for no limit)", MaxMessageSize, v)
	}
	return n, nil
}
