package gate

import (
	"errors"
	"fmt"
)

// Error codes: the kinds of failure a caller can act on. The HTTP adapter maps
// each to one status code; anything else is EINTERNAL.
const (
	EINVALID      = "invalid"      // bad input: fields, JSON, ids, barcodes
	ENOTFOUND     = "not_found"    // no such ticket, event, import or scan
	ECONFLICT     = "conflict"     // the change contradicts the state (reissue onto an existing barcode)
	EUNAUTHORIZED = "unauthorized" // no token or an unknown token
	EFORBIDDEN    = "forbidden"    // a token of the wrong role or lane
	ETOOLARGE     = "too_large"    // a body or file over its limit
	EREJECTED     = "rejected"     // an import refused because of its lines
	EUNAVAILABLE  = "unavailable"  // not ready yet, or shutting down
	ENOSPACE      = "no_space"     // the data disk is full
	EINTERNAL     = "internal"     // a fault inside admit; details are logged, not shown
)

// Error is a failure with a code and a message fit to show the user who caused
// it: words for a person, with no package prefix to strip (logs get their
// context from the %w wrapping around it). Wrap internal faults with
// fmt.Errorf instead: they must not reach users.
type Error struct {
	Code    string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for any other error, so internal details never reach users.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
