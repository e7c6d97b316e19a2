package web_test

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"slices"
	"testing"
)

// A QR decoder for the tests, written from ISO/IEC 18004 apart from the
// page's encoder (assets/qr.js): it reads a module matrix, checks every
// function pattern and both copies of the format (and version) information
// against values computed here and the standard's tables, undoes the mask,
// reads the codewords in their zigzag order, undoes the interleaving,
// requires every Reed-Solomon block to have zero syndromes, and parses the
// byte-mode segment, its terminator and its padding. Level M, versions 1
// to 10: what the encoder makes.

// qrBlocksM is the standard's table 9 at level M: EC codewords per block,
// blocks of group 1 and their data codewords, blocks of group 2 (one data
// codeword more each).
var qrBlocksM = [11][4]int{{}, {10, 1, 16, 0}, {16, 1, 28, 0}, {26, 1, 44, 0}, {18, 2, 32, 0}, {24, 2, 43, 0},
	{16, 4, 27, 0}, {18, 4, 31, 0}, {22, 2, 38, 2}, {22, 3, 36, 2}, {26, 4, 43, 1}}

// qrAlign is annex E: the alignment patterns' centres.
var qrAlign = [11][]int{{}, {}, {6, 18}, {6, 22}, {6, 26}, {6, 30}, {6, 34}, {6, 22, 38}, {6, 24, 42}, {6, 26, 46}, {6, 28, 50}}

// qrBCH returns value (of dataBits) with its check bits (polynomial poly)
// appended, totalBits in all: polynomial division over GF(2).
func qrBCH(value, dataBits, poly, totalBits int) int {
	rem := value << (totalBits - dataBits)
	deg := 0
	for p := poly; p > 1; p >>= 1 {
		deg++
	}
	for i := totalBits - 1; i >= deg; i-- {
		if rem>>i&1 == 1 {
			rem ^= poly << (i - deg)
		}
	}
	return value<<(totalBits-dataBits) | rem
}

// qrFormatWord is the 15-bit format information for an error correction
// level's two bits (L 01, M 00, Q 11, H 10) and a mask.
func qrFormatWord(level, mask int) int { return qrBCH(level<<3|mask, 5, 0x537, 15) ^ 0x5412 }

// qrGF are GF(256)'s exponentials and logarithms modulo 0x11d.
var qrExp, qrLog = func() ([512]int, [256]int) {
	var exp [512]int
	var log [256]int
	x := 1
	for i := range 255 {
		exp[i], log[x] = x, i
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	for i := 255; i < 512; i++ {
		exp[i] = exp[i-255]
	}
	return exp, log
}()

// qrSyndromesZero reports whether a block (data then EC codewords, the
// first the highest power) is a codeword of the code whose generator has
// the roots a^0 .. a^(ec-1).
func qrSyndromesZero(block []int, ec int) bool {
	for k := range ec {
		s := 0
		for _, c := range block { // Horner's rule at x = a^k
			if s != 0 {
				s = qrExp[qrLog[s]+k%255]
			}
			s ^= c
		}
		if s != 0 {
			return false
		}
	}
	return true
}

// qrFunction marks the function modules of a version: finders with their
// separators, timing patterns, alignment patterns, format and version
// areas and the dark module.
func qrFunction(v int) [][]bool {
	n := 17 + 4*v
	f := make([][]bool, n)
	for i := range f {
		f[i] = make([]bool, n)
	}
	mark := func(r0, c0, h, w int) {
		for r := max(r0, 0); r < min(r0+h, n); r++ {
			for c := max(c0, 0); c < min(c0+w, n); c++ {
				f[r][c] = true
			}
		}
	}
	mark(0, 0, 9, 9) // finder, separator and format area
	mark(0, n-8, 9, 8)
	mark(n-8, 0, 8, 9)
	mark(6, 0, 1, n)
	mark(0, 6, n, 1)
	al := qrAlign[v]
	last := 0
	if len(al) > 0 {
		last = al[len(al)-1]
	}
	for _, r := range al {
		for _, c := range al {
			if (r == 6 && c == 6) || (r == 6 && c == last) || (r == last && c == 6) { // where the finders are
				continue
			}
			mark(r-2, c-2, 5, 5)
		}
	}
	if v >= 7 {
		mark(0, n-11, 6, 3)
		mark(n-11, 0, 3, 6)
	}
	return f
}

// qrMask reports whether the mask flips the module at row i, column j.
func qrMask(m, i, j int) bool {
	switch m {
	case 0:
		return (i+j)%2 == 0
	case 1:
		return i%2 == 0
	case 2:
		return j%3 == 0
	case 3:
		return (i+j)%3 == 0
	case 4:
		return (i/2+j/3)%2 == 0
	case 5:
		return i*j%2+i*j%3 == 0
	case 6:
		return (i*j%2+i*j%3)%2 == 0
	default:
		return ((i+j)%2+i*j%3)%2 == 0
	}
}

// qrDecoded is what the decoder found.
type qrDecoded struct {
	Text    string
	Version int
	Mask    int
}

// qrDecode decodes a matrix of modules (m[row][col], true dark, no quiet zone).
func qrDecode(m [][]bool) (qrDecoded, error) {
	n := len(m)
	if n < 21 || (n-17)%4 != 0 || (n-17)/4 > 10 {
		return qrDecoded{}, fmt.Errorf("a %d-module code is not a version 1 to 10", n)
	}
	for _, row := range m {
		if len(row) != n {
			return qrDecoded{}, errors.New("the matrix is not square")
		}
	}
	v := (n - 17) / 4
	at := func(r, c int) int {
		if m[r][c] {
			return 1
		}
		return 0
	}

	// Finders (7x7 rings around a 3x3 core) and their light separators.
	for _, o := range [][2]int{{0, 0}, {0, n - 7}, {n - 7, 0}} {
		for dr := -1; dr <= 7; dr++ {
			for dc := -1; dc <= 7; dc++ {
				r, c := o[0]+dr, o[1]+dc
				if r < 0 || r >= n || c < 0 || c >= n {
					continue
				}
				d := max(abs(dr-3), abs(dc-3))
				if want := d != 2 && d <= 3; m[r][c] != want {
					return qrDecoded{}, fmt.Errorf("finder at %v: module (%d,%d) is wrong", o, r, c)
				}
			}
		}
	}
	for i := 8; i < n-8; i++ {
		if m[6][i] != (i%2 == 0) || m[i][6] != (i%2 == 0) {
			return qrDecoded{}, fmt.Errorf("timing pattern wrong at %d", i)
		}
	}
	fn := qrFunction(v)
	al := qrAlign[v]
	for _, r := range al {
		for _, c := range al {
			if (r == 6 && c == 6) || (r == 6 && c == al[len(al)-1]) || (r == al[len(al)-1] && c == 6) {
				continue
			}
			for dr := -2; dr <= 2; dr++ {
				for dc := -2; dc <= 2; dc++ {
					if want := max(abs(dr), abs(dc)) != 1; m[r+dr][c+dc] != want {
						return qrDecoded{}, fmt.Errorf("alignment pattern at (%d,%d) wrong", r, c)
					}
				}
			}
		}
	}
	if !m[n-8][8] {
		return qrDecoded{}, errors.New("the dark module is light")
	}

	// Format information: both copies, each exactly a valid word.
	var f1, f2 int
	for i := 0; i <= 5; i++ {
		f1 |= at(i, 8) << i
	}
	f1 |= at(7, 8)<<6 | at(8, 8)<<7 | at(8, 7)<<8
	for i := 9; i < 15; i++ {
		f1 |= at(8, 14-i) << i
	}
	for i := range 8 {
		f2 |= at(8, n-1-i) << i
	}
	for i := 8; i < 15; i++ {
		f2 |= at(n-15+i, 8) << i
	}
	if f1 != f2 {
		return qrDecoded{}, fmt.Errorf("the two copies of the format information differ: %015b, %015b", f1, f2)
	}
	level, mask := -1, -1
	for l := range 4 {
		for k := range 8 {
			if qrFormatWord(l, k) == f1 {
				level, mask = l, k
			}
		}
	}
	if level < 0 {
		return qrDecoded{}, fmt.Errorf("format information %015b is no valid word", f1)
	}
	if level != 0 {
		return qrDecoded{}, fmt.Errorf("error correction level bits %02b; this decoder reads M (00)", level)
	}
	if v >= 7 {
		want := qrBCH(v, 6, 0x1f25, 18)
		var a, b int
		for i := range 18 {
			a |= at(i/3, n-11+i%3) << i
			b |= at(n-11+i%3, i/3) << i
		}
		if a != want || b != want {
			return qrDecoded{}, fmt.Errorf("version information %018b, %018b, want %018b", a, b, want)
		}
	}

	// The codewords, in their zigzag order, unmasked.
	var bits []int
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for k := range n {
			r := k
			if upward {
				r = n - 1 - k
			}
			for _, c := range []int{right, right - 1} {
				if fn[r][c] {
					continue
				}
				b := at(r, c)
				if qrMask(mask, r, c) {
					b ^= 1
				}
				bits = append(bits, b)
			}
		}
	}
	words := make([]int, len(bits)/8)
	for i := range words {
		for j := range 8 {
			words[i] = words[i]<<1 | bits[8*i+j]
		}
	}
	bl := qrBlocksM[v]
	ec, b1, d1, b2 := bl[0], bl[1], bl[2], bl[3]
	if total := b1*(d1+ec) + b2*(d1+1+ec); total != len(words) {
		return qrDecoded{}, fmt.Errorf("version %d holds %d codewords, the table says %d", v, len(words), total)
	}
	blocks := make([][]int, b1+b2)
	k := 0
	for i := 0; i <= d1; i++ {
		for b := range blocks {
			if i < d1 || b >= b1 {
				blocks[b] = append(blocks[b], words[k])
				k++
			}
		}
	}
	for range ec {
		for b := range blocks {
			blocks[b] = append(blocks[b], words[k])
			k++
		}
	}
	var data []int
	for i, b := range blocks {
		if !qrSyndromesZero(b, ec) {
			return qrDecoded{}, fmt.Errorf("block %d fails its Reed-Solomon check", i)
		}
		data = append(data, b[:len(b)-ec]...)
	}

	// One byte-mode segment, the terminator, zero bits to a byte and the
	// pad codewords.
	var stream []int
	for _, w := range data {
		for j := 7; j >= 0; j-- {
			stream = append(stream, w>>j&1)
		}
	}
	pos := 0
	read := func(nb int) (int, error) {
		if pos+nb > len(stream) {
			return 0, errors.New("the data ends early")
		}
		x := 0
		for range nb {
			x = x<<1 | stream[pos]
			pos++
		}
		return x, nil
	}
	mode, _ := read(4)
	if mode != 0b0100 {
		return qrDecoded{}, fmt.Errorf("mode %04b; the encoder writes bytes (0100)", mode)
	}
	cc := 8
	if v >= 10 {
		cc = 16
	}
	count, err := read(cc)
	if err != nil {
		return qrDecoded{}, err
	}
	text := make([]byte, count)
	for i := range text {
		b, err := read(8)
		if err != nil {
			return qrDecoded{}, err
		}
		text[i] = byte(b)
	}
	for i := 0; i < 4 && pos < len(stream); i++ {
		if b, _ := read(1); b != 0 {
			return qrDecoded{}, errors.New("no terminator after the segment")
		}
	}
	for pos%8 != 0 {
		if b, _ := read(1); b != 0 {
			return qrDecoded{}, errors.New("the bits before the pad codewords are not zero")
		}
	}
	for pad := 0xec; pos < len(stream); pad ^= 0xec ^ 0x11 {
		if b, _ := read(8); b != pad {
			return qrDecoded{}, fmt.Errorf("pad codeword %#x, want %#x", b, pad)
		}
	}
	return qrDecoded{Text: string(text), Version: v, Mask: mask}, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// qrFromImage reads the module matrix of a code drawn on img: the dark
// modules' bounding box is the code (the quiet zone is light), each module
// sampled at its centre.
func qrFromImage(img image.Image) ([][]bool, error) {
	b := img.Bounds()
	dark := func(x, y int) bool {
		g := color.GrayModel.Convert(img.At(x, y)).(color.Gray)
		return g.Y < 128
	}
	x0, y0, x1, y1 := b.Max.X, b.Max.Y, b.Min.X, b.Min.Y
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(x, y) {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
			}
		}
	}
	if x1 <= x0 {
		return nil, errors.New("nothing dark in the image")
	}
	// The top-left finder is 7 modules wide: its first row's dark run.
	run := 0
	for x := x0; x < x1 && dark(x, y0); x++ {
		run++
	}
	unit := float64(run) / 7
	n := int(float64(x1-x0)/unit + 0.5)
	if n < 21 || abs(int(float64(y1-y0)/unit+0.5)-n) > 0 {
		return nil, fmt.Errorf("the code is %dx%d px with %.2f px modules: not square", x1-x0, y1-y0, unit)
	}
	m := make([][]bool, n)
	for r := range m {
		m[r] = make([]bool, n)
		for c := range m[r] {
			m[r][c] = dark(x0+int((float64(c)+0.5)*unit), y0+int((float64(r)+0.5)*unit))
		}
	}
	return m, nil
}

// The decoder's own tables against values printed in the standard: the
// format information of levels L and M for masks 0 and 4, of Q and H for
// mask 0, and the version information of versions 7 to 10.
func TestQRDecoderTables(t *testing.T) {
	for _, c := range []struct{ level, mask, want int }{
		{1, 0, 0b111011111000100}, {1, 4, 0b110011000101111}, {0, 0, 0b101010000010010},
		{0, 4, 0b100010111111001}, {3, 0, 0b011010101011111}, {2, 0, 0b001011010001001},
	} {
		if got := qrFormatWord(c.level, c.mask); got != c.want {
			t.Errorf("format %02b/%d: %015b, want %015b", c.level, c.mask, got, c.want)
		}
	}
	for v, want := range map[int]int{7: 0x07c94, 8: 0x085bc, 9: 0x09a99, 10: 0x0a4d3} {
		if got := qrBCH(v, 6, 0x1f25, 18); got != want {
			t.Errorf("version %d: %#x, want %#x", v, got, want)
		}
	}
	// A Reed-Solomon check that can fail: a codeword of the generator of
	// degree 2, (x - 1)(x - a) = x^2 + 3x + 2, and that word changed.
	if !qrSyndromesZero([]int{1, 3, 2}, 2) || qrSyndromesZero([]int{1, 3, 3}, 2) {
		t.Error("the syndrome check is wrong")
	}
	// Module counts: the data modules of each version give the table's
	// codewords (and its remainder bits).
	for v := 1; v <= 10; v++ {
		fn := qrFunction(v)
		free := 0
		for _, row := range fn {
			for _, f := range row {
				if !f {
					free++
				}
			}
		}
		bl := qrBlocksM[v]
		words := bl[1]*(bl[2]+bl[0]) + bl[3]*(bl[2]+1+bl[0])
		rem := free - 8*words
		want := 0
		if v >= 2 && v <= 6 {
			want = 7
		}
		if rem != want {
			t.Errorf("version %d: %d data modules, %d codewords, %d bits left, want %d", v, free, words, rem, want)
		}
	}
}

// qrSample are texts for every version the encoder makes, at the edges of
// their capacity, in UTF-8 too.
func qrSamples() []string {
	var out []string
	for _, n := range []int{1, 14, 15, 26, 27, 42, 43, 62, 63, 84, 85, 106, 107, 122, 123, 152, 153, 180, 181, 213} {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz0123456789:/#=-."[(i*7+n)%42]
		}
		out = append(out, string(b))
	}
	return append(out, "http://192.168.1.50:8080/door#pair=7K3M-Q9TZ-ABCD-EFGH", "héllo wörld ✓ — ümlaut", "")
}

// sameModules reports whether two matrices are equal.
func sameModules(a, b [][]bool) bool {
	return slices.EqualFunc(a, b, func(x, y []bool) bool { return slices.Equal(x, y) })
}
