// Package decodetest records and replays what a scanner sends, in the
// manner of periph's i2ctest: capture a real scanner's reports once with
// [Record], keep them as a text file, and replay them in tests with
// [Playback] (whose Close fails when frames were left unread) or straight
// into a decoder with [Replay].
//
// The text format is the one decode's golden files use, one frame per
// line:
//
//	# a comment
//	@0s     02 00 04 00 00 00 00 00   # a report at the start
//	@1ms    00 00 00 00 00 00 00 00
//	+250ms  "]Q1" 41*5 00             # 250ms after the previous frame
//	        00 00 28 00 00 00 00 00   # no time: 1ms after the previous one
//
// Tokens are hex bytes ("02 00"), hex runs ("0200"), Go-quoted strings,
// and "xx*N" for N copies of byte xx. Recorded files use absolute "@"
// times and hex only. The package imports nothing of admit but gate, so
// decode's own tests use it too.
package decodetest
