// Package defaults fills the options a caller left unset. Every options
// struct in admit documents a default per field and takes a zero or a
// negative value as "the default" (Pebble's EnsureDefaults does the same):
// Set is that rule, written once, so that a New or withDefaults reads as
// the list of its defaults.
package defaults
